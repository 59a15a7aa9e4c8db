// Artifact path confinement: every artifact path resolves inside the artifact root (no .., absolute paths or symlink escapes).
import fs from "node:fs";
import path from "node:path";
import { invalid, type MlflowApiError } from "./errors.ts";

const bad = (): Error => invalid("Invalid path");
const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;

/** fs errors a client path can provoke (a name too long, a path below a file, a symlink loop): a 400, not a 500. */
export function clientPathError(e: unknown): MlflowApiError | undefined {
  const code = e instanceof Error && "code" in e ? e.code : undefined;
  if (code === "ENAMETOOLONG") return invalid("Invalid path: a name is too long");
  if (code === "ENOTDIR") return invalid("Invalid path: a parent of the path is a file, not a directory");
  if (code === "EISDIR") return invalid("Invalid path: the path is a directory");
  if (code === "ELOOP") return invalid("Invalid path: too many levels of symbolic links");
  if (code === "EEXIST") return invalid("Invalid path: a file is in the way of a directory");
  return undefined;
}

/** Validate a client-supplied relative artifact path, as MLflow's validate_path_is_safe does. */
export function checkRelative(rel: string): string {
  // "#" is refused as MLflow does: a fragment would silently truncate the path in URI handling.
  if (rel.includes("\0") || rel.includes("#")) throw bad();
  // Percent-encoded dots or slashes that survived one decoding are an attempt to smuggle a traversal.
  if (/%2e|%2f|%5c/i.test(rel)) throw bad();
  if (rel.startsWith("/") || rel.startsWith("\\") || /^[a-zA-Z]:/.test(rel) || path.isAbsolute(rel)) throw bad();
  // The OS limits (PATH_MAX, NAME_MAX) answered as a 400 up front rather than as ENAMETOOLONG from deep inside fs.
  if (Buffer.byteLength(rel) > MAX_PATH_BYTES) throw invalid(`Invalid path: longer than ${MAX_PATH_BYTES} bytes`);
  const segments = rel.split(/[/\\]+/);
  if (segments.includes("..")) throw bad();
  if (segments.some((s) => Buffer.byteLength(s) > MAX_NAME_BYTES)) throw invalid(`Invalid path: a segment is longer than ${MAX_NAME_BYTES} bytes`);
  return segments.filter((s) => s !== "" && s !== ".").join("/");
}

/** The deepest existing ancestor of p (p itself when it exists). */
function existingAncestor(p: string): string {
  let cur = p;
  while (!fs.existsSync(cur)) {
    const parent = path.dirname(cur);
    if (parent === cur) return cur;
    cur = parent;
  }
  return cur;
}

/** Resolve a relative artifact path under root, rejecting anything whose real location is outside root. */
export function resolveInside(root: string, rel: string): string {
  const clean = checkRelative(rel);
  const realRoot = fs.realpathSync(root);
  const target = path.resolve(realRoot, clean);
  if (target !== realRoot && !target.startsWith(realRoot + path.sep)) throw bad();
  const real = fs.realpathSync(existingAncestor(target));
  if (real !== realRoot && !real.startsWith(realRoot + path.sep)) throw bad();
  // A dangling symlink at the target itself would be followed by a write: refuse it.
  try {
    if (fs.lstatSync(target).isSymbolicLink() && !fs.existsSync(target)) throw bad();
  } catch (e) {
    if (e instanceof Error && "code" in e && e.code === "ENOENT") return target;
    throw e;
  }
  return target;
}

export interface FileInfo {
  readonly path: string;
  readonly is_dir: boolean;
  readonly file_size?: number;
}

/** Entries of one directory (not recursive), sorted by name; [] for a missing dir or a file. */
export function listDir(dir: string, prefix: string): FileInfo[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((e) => {
      const full = path.join(dir, e.name);
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      const st = fs.statSync(full, { throwIfNoEntry: false });
      if (!st) return undefined;
      return st.isDirectory() ? { path: rel, is_dir: true } : { path: rel, is_dir: false, file_size: st.size };
    })
    .filter((x): x is FileInfo => x !== undefined);
}
