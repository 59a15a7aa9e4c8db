// Reading job log files: the last lines for failure events, and line-by-line following until the job ends.
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { ValidationError } from "../errors.ts";

const TAIL_BYTES = 8 * 1024;

/** The last `lines` lines of a file (at most 8 KiB), or "" when it does not exist. */
export function tailFile(file: string, lines = 40): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "r");
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - TAIL_BYTES);
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    const text = buf.toString("utf8").replace(/\n$/, "");
    const all = text.split("\n");
    // A cut at the 8 KiB boundary leaves a partial first line: drop it.
    if (start > 0) all.shift();
    return all.slice(-lines).join("\n");
  } catch {
    return "";
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export interface FollowOptions {
  readonly follow: boolean;
  /** True once nothing more will be written (the job ended). */
  readonly isDone: () => boolean | Promise<boolean>;
  readonly signal?: AbortSignal | undefined;
  readonly pollMs?: number;
}

/** Yields complete lines of a file; with follow, keeps polling for new lines until isDone() and the file is drained. */
export async function* followFile(file: string, opts: FollowOptions): AsyncGenerator<string> {
  let offset = 0;
  let pending = "";
  const poll = opts.pollMs ?? 100;
  for (;;) {
    if (opts.signal?.aborted) return;
    // isDone is read before draining so lines written just before the end are not lost.
    const done = !opts.follow || (await opts.isDone());
    const chunk = readFrom(file, offset);
    offset += chunk.length;
    pending += chunk.toString("utf8");
    const parts = pending.split("\n");
    pending = parts.pop() ?? "";
    for (const line of parts) yield line;
    if (done && chunk.length === 0) {
      if (pending) yield pending;
      return;
    }
    if (chunk.length === 0) {
      try {
        await sleep(poll, undefined, opts.signal ? { signal: opts.signal } : {});
      } catch {
        return;
      }
    }
  }
}

function readFrom(file: string, offset: number): Buffer {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "r");
    const size = fs.fstatSync(fd).size;
    if (size <= offset) return Buffer.alloc(0);
    const buf = Buffer.alloc(Math.min(size - offset, 1024 * 1024));
    const n = fs.readSync(fd, buf, 0, buf.length, offset);
    return buf.subarray(0, n);
  } catch {
    return Buffer.alloc(0);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The rank whose log to read (default 0), checked against the job's number of ranks; a ValidationError names `rank`. */
export function logRank(job: { readonly ranks: number }, rank: number | undefined): number {
  const r = rank ?? 0;
  if (!Number.isInteger(r) || r < 0 || r >= job.ranks) throw new ValidationError([{ field: "rank", message: `must be an integer from 0 to ${job.ranks - 1}` }]);
  return r;
}
