// The fake MLflow's artifact proxy (`--serve-artifacts`), in memory, from the recorded steps 190-217: uploads, listings,
// downloads (a missing file is a 500 that names the server's directory, a directory is Flask's HTML 500), deletes, and
// the "Invalid path" refusal of any `..` or absolute path, judged on the raw request path as MLflow sees it.
import { invalid, MlflowFault, type Params } from "./params.ts";
import { run } from "./runs.ts";
import type { State } from "./state.ts";

/** Where a real server keeps the files; only ever shown in the 500 message, as MLflow does. */
const SERVER_ROOT = "/fake-mlflow/mlartifacts";
const MLFLOW_ARTIFACTS = "mlflow-artifacts:/";

export interface Download {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer | string;
  readonly html?: true;
}

const segments = (p: string): string[] => p.split("/").filter(Boolean);
export function checkPath(p: string): string {
  if (p.startsWith("/") || p.split("/").includes("..")) throw invalid("Invalid path");
  return segments(p).join("/");
}

/** Files directly under `dir`, directories first in name order as MLflow lists them (step 193). */
export function list(s: State, dir: string): { path: string; is_dir: boolean; file_size?: number }[] {
  const prefix = dir ? `${dir}/` : "";
  const entries = new Map<string, { is_dir: boolean; file_size?: number }>();
  for (const [p, bytes] of s.artifacts) {
    if (!p.startsWith(prefix)) continue;
    const [head, ...rest] = segments(p.slice(prefix.length));
    if (!head) continue;
    entries.set(head, rest.length ? { is_dir: true } : { is_dir: false, file_size: bytes.length });
  }
  for (const d of s.artifactDirs) {
    const [head] = d.startsWith(prefix) ? segments(d.slice(prefix.length)) : [];
    if (head) entries.set(head, { is_dir: true });
  }
  return [...entries].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, e]) => ({ path: name, ...e }));
}

const TEXT = new Set(["txt", "json", "yaml", "yml", "csv", "md", "log", "py"]);
/** Recorded: .txt and .json download as text/plain (steps 197, 198), anything else as application/octet-stream (216). */
const contentType = (p: string): string => (TEXT.has(p.split(".").pop()?.toLowerCase() ?? "") && p.includes(".") ? "text/plain; charset=utf-8" : "application/octet-stream");

export function download(s: State, rel: string): Download {
  const bytes = s.artifacts.get(rel);
  if (bytes) return { status: 200, contentType: contentType(rel), body: bytes };
  if (s.artifactDirs.has(rel)) return { status: 500, contentType: "text/html", body: "", html: true };
  throw new MlflowFault(500, "INTERNAL_ERROR",
    `The following failures occurred while downloading one or more artifacts from ${SERVER_ROOT}:\n##### File ${rel} #####\n[Errno 2] No such file or directory: '${SERVER_ROOT}/${rel}'`);
}

export function upload(s: State, rel: string, body: Buffer): void {
  s.artifacts.set(rel, body);
  const parts = segments(rel);
  for (let i = 1; i < parts.length; i++) s.artifactDirs.add(parts.slice(0, i).join("/"));
}

export function remove(s: State, rel: string): void {
  for (const p of [...s.artifacts.keys()]) if (p === rel || p.startsWith(`${rel}/`)) s.artifacts.delete(p);
}

/** GET mlflow-artifacts/artifacts?path=: a missing directory, or a file, lists as {} (steps 195, 196). */
export function listProxy(p: Params, s: State): unknown {
  const files = list(s, checkPath(p.str("path") ?? ""));
  return files.length ? { files } : {};
}

/** The proxy path of a run's artifact root, when it is served here. */
function runRoot(s: State, runId: string): { uri: string; rel: string | undefined } {
  const uri = run(s, runId).artifactUri;
  return { uri, rel: uri.startsWith(MLFLOW_ARTIFACTS) ? segments(uri.slice(MLFLOW_ARTIFACTS.length)).join("/") : undefined };
}

/** GET mlflow/artifacts/list: paths relative to the run's root (steps 210-214). */
export function listRun(p: Params, s: State): unknown {
  const runId = p.req("run_id", "run_uuid");
  const sub = checkPath(p.str("path") ?? "");
  const root = runRoot(s, runId);
  const files = root.rel === undefined ? [] : list(s, [root.rel, sub].filter(Boolean).join("/")).map((f) => ({ ...f, path: [sub, f.path].filter(Boolean).join("/") }));
  return { root_uri: root.uri, ...(files.length ? { files } : {}) };
}

/** GET /get-artifact?path=&run_uuid= (step 217). */
export function getArtifact(p: Params, s: State): Download {
  const root = runRoot(s, p.req("run_uuid", "run_id"));
  const sub = checkPath(p.req("path"));
  if (root.rel === undefined) throw invalid(`Artifacts of this run are not served here: ${root.uri}`);
  return download(s, `${root.rel}/${sub}`);
}
