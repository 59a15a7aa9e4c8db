// One delivery attempt: encode the event (binary or structured mode) and send it, bounded by the DeliverySpec timeout.
import { hasBinaryData } from "../../eventing/serialize.ts";
import { fromStructured, toHttpBinary } from "../../events/envelope.ts";
import type { Claimed } from "./db.ts";
import { encodeBinaryLean } from "./encode-binary.ts";
import type { Deliver, OutboundMessage } from "./types.ts";

/** What an attempt left: a status (and body), or a transport error (no status). */
export interface AttemptResult {
  readonly status: number | undefined;
  readonly body: string | undefined;
  readonly error: string | undefined;
}

/** Bytes of a response body kept for knativeerrordata (1024 base64 characters encode 768 bytes). */
const KEEP_BODY_CHARS = 768;

/** A timeout (or a rejected deliver) is a transport error, as an HTTP client error is in Knative's dispatcher. */
export async function sendOnce(deliver: Deliver, c: Claimed, msg: OutboundMessage): Promise<AttemptResult> {
  const ac = new AbortController();
  const timeoutMs = c.delivery.timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<AttemptResult>((resolve) => {
    timer = setTimeout(() => {
      ac.abort(new Error(`timeout after ${timeoutMs} ms`));
      resolve({ status: undefined, body: undefined, error: `timeout after ${timeoutMs} ms` });
    }, timeoutMs);
    timer.unref();
  });
  try {
    const sent = deliver(c.target, msg, { signal: ac.signal, timeoutMs }).then(
      (r): AttemptResult => ({ status: r.status, body: r.body?.slice(0, KEEP_BODY_CHARS), error: undefined }),
      (e: unknown): AttemptResult => ({ status: undefined, body: undefined, error: describe(e) }),
    );
    return await Promise.race([sent, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Binary mode by default; `format: json` is structured mode (DeliverySpec.format). An event with binary data goes
 * structured too (data_base64): a string body cannot carry arbitrary bytes, and receivers must accept both modes.
 */
export function encode(obj: Record<string, unknown>, format: "binary" | "json"): OutboundMessage {
  if (format === "binary" && !hasBinaryData(obj)) {
    // Events stored before ingress checked attributes (or arriving another way) may not fit in headers; structured
    // mode carries any attribute in the JSON body, so they stay deliverable, to subscribers and dead-letter sinks.
    try {
      const msg = encodeBinaryLean(obj) ?? toHttpBinary(fromStructured(obj));
      if (Object.values(msg.headers).every((v) => HEADER_SAFE.test(v))) return msg;
    } catch {
      // falls through to structured mode
    }
  }
  return { headers: { "content-type": "application/cloudevents+json; charset=utf-8" }, body: JSON.stringify(obj) };
}

const HEADER_SAFE = /^[\t\x20-\x7e]*$/;

/** "fetch failed: connect ECONNREFUSED 127.0.0.1:9" rather than undici's bare "fetch failed". */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause instanceof Error ? `: ${e.cause.message}` : "";
  return `${e.message}${cause}`;
}
