// The `flywheel` CLI: up | demo | train | jobs | logs | cancel | deploy | infer | events | manifests (surface.md "CLI").
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, isKnownError, ValidationError } from "../errors.ts";
import { ApiError } from "./client.ts";
import { stdio, type Out } from "./output.ts";
import { cancel, jobs, logs, train } from "./commands/jobs.ts";
import { deploy, events, infer } from "./commands/serving.ts";
import { demo } from "./commands/demo.ts";
import { up } from "./commands/up.ts";
import { manifests } from "./commands/manifests.ts";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const USAGE = `usage: flywheel <command> [options]

  up        [--port N] [--data-dir DIR]          run the embedded platform
  demo      [--url URL]                          train, log, deploy and query the Iris model
  train     --spec FILE [--wait]                 request a training job
  jobs      [--state S] [--model M]              list jobs
  logs      ID [--rank N] [--follow]             print a job's logs
  cancel    ID                                   cancel a job
  deploy    --spec FILE [--backend B] [--dry-run]  deploy models, pipelines, experiments
  infer     DEPLOYMENT JSON|--file F|--csv F|--text T  get a prediction
  events    [--type T] [--limit N]               recent CloudEvents
  manifests [--overlay NAME]                     print the rendered cluster manifests

every command takes --url, --token (or FLYWHEEL_URL, FLYWHEEL_TOKEN) and --json`;

type Command = (argv: string[], env: NodeJS.ProcessEnv, out: Out) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  up,
  demo: (argv, env, out) => demo(argv, env, out, REPO_ROOT),
  train,
  jobs,
  logs,
  cancel,
  deploy,
  infer,
  events,
  manifests,
};

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, out: Out = stdio): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    out.line(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    out.error(`unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest, env, out);
  } catch (e) {
    if (e instanceof ValidationError) out.error(`error: ${e.issues.map((i) => `${i.field}: ${i.message}`).join("\n       ")}`);
    else if (e instanceof ConfigError) out.error(e.message);
    else if (e instanceof ApiError || isKnownError(e)) out.error(`error: ${e.message}`);
    else if (e instanceof TypeError && "code" in e && String(e.code).startsWith("ERR_PARSE_ARGS")) out.error(`error: ${e.message}\n\n${USAGE}`);
    else out.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

// Run when this file is the entry script (npm start / npm run demo); bin/flywheel.js calls main() itself.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
