// MLflow page tokens: base64 of {"offset": n}, as SearchUtils.create_page_token writes them.
import { invalid } from "./errors.ts";

export function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString("base64");
}

export function decodeToken(token: string | undefined): number {
  if (!token) return 0;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64").toString("utf8"));
  } catch {
    throw invalid("Invalid page token, could not base64-decode");
  }
  const offset = typeof parsed === "object" && parsed !== null && "offset" in parsed ? parsed.offset : undefined;
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) {
    throw invalid("Invalid page token, offset must be a non-negative integer");
  }
  return offset;
}

/** Validate max_results against a default and a threshold (INVALID_PARAMETER_VALUE past it). */
export function maxResults(value: number | undefined, def: number, threshold: number): number {
  if (value === undefined) return def;
  if (value <= 0) throw invalid(`Invalid value for max_results. It must be a positive integer, but got ${value}`);
  if (value > threshold) throw invalid(`Invalid value for max_results. It must be at most ${threshold}, but got value ${value}`);
  return value;
}

/** One page of an already-sorted list, with MLflow's next_page_token (absent on the last page). */
export function page<T>(items: readonly T[], offset: number, limit: number): { items: T[]; next?: string } {
  const slice = items.slice(offset, offset + limit);
  return offset + limit < items.length ? { items: slice, next: encodeToken(offset + limit) } : { items: slice };
}
