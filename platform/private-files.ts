// The data directory holds tokens, sessions, the registry and job logs: only its owner may read it, whatever the
// umask (issue 17: broker.sqlite, registry.sqlite and job logs were 0644).
import fs from "node:fs";

/** Create `dir` (and parents) and make it 0700. */
export function ensurePrivateDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  return dir;
}

/**
 * Make sure `file` exists with mode 0600 before a library opens it. SQLite creates its -wal and -shm files with the
 * database file's mode, so they follow. ":memory:" and "" (SQLite's in-memory and temporary databases) pass through.
 */
export function privateFile(file: string): string {
  if (file === ":memory:" || file === "" || file.startsWith("file:")) return file;
  fs.closeSync(fs.openSync(file, "a", 0o600));
  fs.chmodSync(file, 0o600);
  return file;
}
