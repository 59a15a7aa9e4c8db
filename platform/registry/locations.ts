// Artifact locations: which URIs this server resolves on its own disk, confined to the artifact roots; remote ones never are.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { invalid } from "./errors.ts";
import { checkRelative } from "./paths.ts";
import { ARTIFACT_SCHEME } from "./store.ts";

export interface ArtifactRoots {
  /** mlflow-artifacts:/<rel> lives at <proxy>/<rel>. */
  readonly proxy: string;
  /** Directories a local location (plain path or file:) may point into: the proxy root and configured extra roots. */
  readonly local: readonly string[];
}

/** A location this server reads from its own disk (confined), or one it only records (s3://, gs://, ...). */
export type Location = { readonly kind: "local"; readonly path: string } | { readonly kind: "remote" };

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

const within = (p: string, root: string): boolean => p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

/** The deepest existing ancestor of p (p itself when it exists); bounded by the number of segments. */
function existingAncestor(p: string): string {
  let cur = p;
  while (!fs.existsSync(cur)) {
    const parent = path.dirname(cur);
    if (parent === cur) return cur;
    cur = parent;
  }
  return cur;
}

/**
 * `p` resolved, when it lies inside one of `roots` both by name and by real location (no symlink leads out).
 * Touches the disk only to read (realpath/exists): it never creates anything, so /proc or a FIFO cannot trap it.
 */
export function confine(p: string, roots: readonly string[]): string | undefined {
  const target = path.resolve(p);
  for (const r of roots) {
    const root = path.resolve(r);
    if (!within(target, root)) continue;
    // A root that does not exist yet has nothing below it that could be a symlink.
    if (!fs.existsSync(root)) return target;
    const realRoot = fs.realpathSync(root);
    if (within(fs.realpathSync(existingAncestor(target)), realRoot)) return target;
  }
  return undefined;
}

/** The proxy-relative path of an mlflow-artifacts: URI (with or without an authority), checked like a client path. */
function proxyRelative(uri: string): string {
  const rest = uri.slice(ARTIFACT_SCHEME.length);
  const noAuthority = rest.startsWith("//") ? rest.slice(2).replace(/^[^/]*/, "") : rest;
  return checkRelative(noAuthority.replace(/^\/+/, ""));
}

/** The file-system path a file: URI or plain path names, percent-decoded as a file: URL is; undefined when unparseable. */
function localPathOf(uri: string): string | undefined {
  if (!uri.startsWith("file:")) return uri.includes("\0") ? undefined : path.resolve(uri);
  try {
    // The URL parser also folds %2e%2e segments into "..", so the confinement below sees what the OS would.
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

const refuse = (field: string, uri: string): Error =>
  invalid(`Invalid ${field} '${uri}': a local artifact location must be inside this server's artifact root or a configured artifact root (FLYWHEEL_ARTIFACT_ROOTS).`);

/**
 * Classify and confine an artifact location. `field` names it in the 400. runs:/ and models:/ are not storage: callers
 * resolve them first (or refuse them where storage is expected).
 */
export function locate(roots: ArtifactRoots, uri: string, field: string): Location {
  if (uri.startsWith(ARTIFACT_SCHEME)) {
    let rel: string;
    try {
      rel = proxyRelative(uri);
    } catch {
      throw refuse(field, uri);
    }
    return { kind: "local", path: path.join(roots.proxy, rel) };
  }
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  // A one-letter "scheme" is a Windows drive letter: a local path (and, on this OS, a relative one).
  if (scheme && scheme !== "file" && scheme.length > 1) return { kind: "remote" };
  const local = localPathOf(uri);
  const confined = local === undefined ? undefined : confine(local, roots.local);
  if (!confined) throw refuse(field, uri);
  return { kind: "local", path: confined };
}

/** An experiment's artifact_location, checked at creation: storage only, local ones confined. */
export function checkExperimentLocation(roots: ArtifactRoots, uri: string): void {
  if (/^(runs|models):/i.test(uri)) throw invalid(`Invalid artifact_location '${uri}': runs:/ and models:/ URIs name artifacts, not a storage location.`);
  locate(roots, uri, "artifact_location");
}

/**
 * The directory to list for `rel` under a stored artifact URI: undefined for remote storage; a 400 when the stored
 * location is (no longer) confined or rel is unsafe. Never creates the directory: a missing one lists as empty.
 */
export function listingDir(roots: ArtifactRoots, uri: string, rel: string): string | undefined {
  const loc = locate(roots, uri, "artifact location");
  if (loc.kind === "remote") return undefined;
  const dir = confine(path.join(loc.path, checkRelative(rel)), roots.local);
  if (!dir) throw invalid("Invalid path");
  return dir;
}
