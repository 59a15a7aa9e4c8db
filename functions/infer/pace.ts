// Bounds per-request CPU in infer: a row cap, and loops over rows that give the event loop a turn every few rows, so
// one large CSV or record list never holds /healthz and other requests for long (issue 17).
import { ValidationError } from "../../platform/errors.ts";

/** Default cap on rows (CSV lines, records) per infer request; FLYWHEEL_INFER_MAX_ROWS overrides it. */
export const DEFAULT_MAX_ROWS = 10_000;
/** Rows handled between two turns of the event loop: ~1 ms of work each on an idle core. */
export const ROWS_PER_TURN = 500;

/** Lets pending I/O (a /healthz poll, other requests) run before the next chunk. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Calls fn for each item, yielding to the event loop every ROWS_PER_TURN items. */
export async function forEachPaced<T>(items: Iterable<T>, fn: (item: T, index: number) => void): Promise<void> {
  let i = 0;
  for (const item of items) {
    fn(item, i);
    if (++i % ROWS_PER_TURN === 0) await nextTurn();
  }
}

/** The 400 for a request over the row cap, naming the field and the limit. */
export function tooManyRows(field: string, maxRows: number, got?: number): ValidationError {
  const count = got === undefined ? `more than ${maxRows}` : String(got);
  return new ValidationError([{ field, message: `has ${count} rows; at most ${maxRows} rows per request (FLYWHEEL_INFER_MAX_ROWS): split the batch` }]);
}
