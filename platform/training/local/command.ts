// Which argv a local job runs: command + args, an entry file from `source`, and spark-submit for kind spark.
import fs from "node:fs";
import path from "node:path";
import type { TrainingSpec } from "../../specs/training.ts";
import { which } from "./procs.ts";

export interface Resolved {
  readonly argv: readonly string[];
  readonly cwd: string;
  /** A git source to clone into `cwd` before running. */
  readonly clone?: { readonly url: string; readonly ref: string } | undefined;
}

export class LaunchError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "LaunchError";
  }
}

export const SPARK_INSTALL_HINT =
  "spark-submit was not found on PATH (nor in $SPARK_HOME/bin). Install Apache Spark 3.5+ with a Java 17 runtime " +
  "(apt-get install openjdk-17-jre-headless; download and unpack spark-3.5.x-bin-hadoop3, set SPARK_HOME and add " +
  "$SPARK_HOME/bin to PATH) or `pip install pyspark`, which ships spark-submit; or run kind spark on the Kubernetes " +
  "backend (FLYWHEEL_TRAINING_BACKEND=kubernetes) where the Spark Operator runs it.";

export interface ResolveOptions {
  readonly workdir: string;
  readonly jobDir: string;
  readonly python: string;
  readonly pathVar: string | undefined;
  readonly sparkHome: string | undefined;
}

/** The interpreter for an entry file, by extension. */
function interpreterFor(entry: string, python: string): string[] {
  if (entry.endsWith(".py")) return [python];
  if (entry.endsWith(".ts") || entry.endsWith(".mts")) return [process.execPath, "--import", "tsx"];
  if (entry.endsWith(".js") || entry.endsWith(".mjs") || entry.endsWith(".cjs")) return [process.execPath];
  return [];
}

export function resolveCommand(spec: TrainingSpec, o: ResolveOptions): Resolved {
  let cwd = o.workdir;
  let program: string[];
  let clone: Resolved["clone"];
  const src = spec.source;
  if (src && "git" in src) {
    cwd = path.join(o.jobDir, "src");
    clone = { url: src.git, ref: src.ref };
    program = spec.command ? [...spec.command] : spec.kind === "spark" ? [src.entry] : [...interpreterFor(src.entry, o.python), src.entry];
  } else if (src && "path" in src) {
    const p = path.resolve(o.workdir, src.path);
    const isDir = fs.existsSync(p) && fs.statSync(p).isDirectory();
    if (isDir) {
      cwd = p;
      if (!spec.command) throw new LaunchError("InvalidSpec", "source.path is a directory: give command (the argv to run in it)");
      program = [...spec.command];
    } else {
      if (!fs.existsSync(p)) throw new LaunchError("SourceNotFound", `source.path ${src.path} does not exist`);
      cwd = path.dirname(p);
      program = spec.command ? [...spec.command] : spec.kind === "spark" ? [p] : [...interpreterFor(p, o.python), p];
    }
  } else {
    program = [...(spec.command ?? [])];
  }
  if (program.length === 0) throw new LaunchError("InvalidSpec", "nothing to run: give command or source");
  if (spec.kind === "spark") program = sparkArgv(spec, program, o);
  return { argv: [...program, ...spec.args], cwd, clone };
}

/** `spark-submit --master local[N] <app> ...`; an explicit spark-submit command keeps its own flags. */
function sparkArgv(spec: TrainingSpec, program: string[], o: ResolveOptions): string[] {
  const submit =
    which("spark-submit", o.pathVar) ?? (o.sparkHome ? which(path.join(o.sparkHome, "bin", "spark-submit"), undefined) : undefined);
  if (!submit) throw new LaunchError("SparkNotFound", SPARK_INSTALL_HINT);
  const first = program[0] ?? "";
  if (path.basename(first) === "spark-submit") {
    const rest = program.slice(1);
    return rest.includes("--master") ? [submit, ...rest] : [submit, "--master", `local[${spec.executors ?? 2}]`, ...rest];
  }
  return [
    submit,
    "--master",
    `local[${spec.executors ?? 2}]`,
    "--name",
    spec.model,
    "--conf",
    `spark.executorEnv.PYTHONUNBUFFERED=1`,
    ...program,
  ];
}
