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
  /** Start with the last `tail` lines instead of the beginning. */
  readonly tail?: number | undefined;
  /** Start at this byte offset (a byte range's first byte). */
  readonly offset?: number | undefined;
  /** Stop after this many bytes from the start (a byte range's length). */
  readonly limit?: number | undefined;
  /** Longer lines are cut here and marked; default MAX_LINE_BYTES. */
  readonly maxLineBytes?: number | undefined;
}

/** One log line is at most this long when streamed: a 100 MB line must not become a 100 MB string. */
export const MAX_LINE_BYTES = 64 * 1024;
/** Read size: small enough that no single read holds the event loop or much memory. */
const CHUNK_BYTES = 64 * 1024;
/** How far back `tail` looks for line starts, so a huge single-line file is not read whole to find them. */
const MAX_TAIL_SCAN_BYTES = 16 * 1024 * 1024;

const truncated = (kept: Buffer, total: number): string => `${kept.toString("utf8")} [flywheel: line truncated, ${total} bytes]`;

/**
 * Yields the lines of a file with bounded memory: async reads of 64 KiB, lines cut at maxLineBytes (marked), from
 * the start, a byte offset or the last `tail` lines, up to `limit` bytes; with follow, keeps polling for new lines until
 * isDone() and the file is drained.
 */
export async function* followFile(file: string, opts: FollowOptions): AsyncGenerator<string> {
  const poll = opts.pollMs ?? 100;
  const cap = opts.maxLineBytes ?? MAX_LINE_BYTES;
  let offset = opts.tail !== undefined ? await tailOffset(file, opts.tail) : Math.max(0, opts.offset ?? 0);
  const end = opts.limit !== undefined ? offset + opts.limit : Number.POSITIVE_INFINITY;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lineBytes = 0; // bytes of the current line so far, kept or not
  const flush = (): string => {
    const kept = Buffer.concat(pending);
    const line = lineBytes > kept.length ? truncated(kept, lineBytes) : kept.toString("utf8");
    pending = [];
    pendingBytes = 0;
    lineBytes = 0;
    return line;
  };
  for (;;) {
    if (opts.signal?.aborted) return;
    // isDone is read before draining so lines written just before the end are not lost.
    const done = !opts.follow || (await opts.isDone());
    const chunk = offset < end ? await readAt(file, offset, Math.min(CHUNK_BYTES, end - offset)) : Buffer.alloc(0);
    offset += chunk.length;
    let from = 0;
    for (let nl = chunk.indexOf(10, from); ; nl = chunk.indexOf(10, from)) {
      const stop = nl < 0 ? chunk.length : nl;
      const piece = chunk.subarray(from, stop);
      lineBytes += piece.length;
      if (pendingBytes < cap) {
        const keep = piece.subarray(0, cap - pendingBytes);
        pending.push(Buffer.from(keep));
        pendingBytes += keep.length;
      }
      if (nl < 0) break;
      yield flush();
      from = nl + 1;
    }
    if ((done || offset >= end) && chunk.length === 0) {
      if (lineBytes > 0) yield flush();
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

/** Up to `length` bytes of `file` from `offset` (empty when there are none, or no file yet). */
async function readAt(file: string, offset: number, length: number): Promise<Buffer> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(file, "r");
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  } catch {
    return Buffer.alloc(0);
  } finally {
    await fh?.close();
  }
}

/** The byte offset where the last `lines` lines of `file` start (0 when it has fewer, or none). */
async function tailOffset(file: string, lines: number): Promise<number> {
  let size: number;
  try {
    size = (await fs.promises.stat(file)).size;
  } catch {
    return 0;
  }
  if (lines <= 0) return size;
  // A final newline ends the last line; it does not start an empty one.
  let pos = size;
  if (pos > 0 && (await readAt(file, pos - 1, 1))[0] === 10) pos--;
  let found = 0;
  const floor = Math.max(0, size - MAX_TAIL_SCAN_BYTES);
  while (pos > floor) {
    const start = Math.max(floor, pos - CHUNK_BYTES);
    const buf = await readAt(file, start, pos - start);
    for (let i = buf.length - 1; i >= 0; i--) {
      if (buf[i] === 10 && ++found === lines) return start + i + 1;
    }
    pos = start;
  }
  return floor;
}

/** The rank whose log to read (default 0), checked against the job's number of ranks; a ValidationError names `rank`. */
export function logRank(job: { readonly ranks: number }, rank: number | undefined): number {
  const r = rank ?? 0;
  if (!Number.isInteger(r) || r < 0 || r >= job.ranks) throw new ValidationError([{ field: "rank", message: `must be an integer from 0 to ${job.ranks - 1}` }]);
  return r;
}
