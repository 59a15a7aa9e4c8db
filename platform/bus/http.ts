// EventBus over HTTP: POSTs binary-mode CloudEvents to a broker ingress (Knative mode: K_SINK or the broker URL).
import { toHttpBinary, type AnyCloudEvent } from "../events/envelope.ts";
import { UpstreamError } from "../errors.ts";
import type { EventBus } from "../ports.ts";
import type { Tracer } from "@opentelemetry/api";
import { SELF_TRACED } from "../telemetry/bus.ts";
import { defaultTracer, withProducerSpan } from "../telemetry/spans.ts";
import { createHttpPost, type Post } from "../http/post.ts";

export interface HttpEventBusOptions {
  readonly url: string;
  readonly token?: string | undefined;
  /** Send through this fetch instead of the built-in node:http keep-alive client (tests, custom transports). */
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  /** PRODUCER spans for each emit (default: the global tracer, a no-op until the OTel SDK is started). */
  readonly tracer?: Tracer;
}

export class HttpEventBus implements EventBus {
  readonly #opts: HttpEventBusOptions;
  /** node:http, not fetch: a cold function's first emit would otherwise load undici (~25 ms) on its critical path. */
  #post: Post | undefined;
  /** tracedBus() leaves this bus as it is: it records its own PRODUCER spans. */
  readonly [SELF_TRACED] = true;
  constructor(opts: HttpEventBusOptions) {
    this.#opts = opts;
  }

  /** The event goes out with the PRODUCER span's traceparent, so the consumer continues this trace. */
  emit(event: AnyCloudEvent): Promise<void> {
    return withProducerSpan(this.#opts.tracer ?? defaultTracer(), event, "default", (traced) => this.#send(traced));
  }

  async #send(event: AnyCloudEvent): Promise<void> {
    const { headers, body } = toHttpBinary(event);
    if (this.#opts.token) headers.authorization = `Bearer ${this.#opts.token}`;
    const signal = AbortSignal.timeout(this.#opts.timeoutMs ?? 10_000);
    let res: { readonly status: number };
    try {
      if (this.#opts.fetch) res = await this.#opts.fetch(this.#opts.url, { method: "POST", headers, body, signal });
      else {
        this.#post ??= createHttpPost({ maxBodyChars: 0, tracer: this.#opts.tracer });
        res = await this.#post(this.#opts.url, headers, body, signal);
      }
    } catch (e) {
      throw new UpstreamError(`broker ingress unreachable`, true, { cause: e });
    }
    if (res.status >= 200 && res.status < 300) return;
    // Same rule as Knative delivery: 5xx, 404, 408, 409, 429 may succeed later; other 4xx never will.
    const retryable = res.status >= 500 || [404, 408, 409, 429].includes(res.status);
    throw new UpstreamError(`broker ingress answered ${res.status}`, retryable, { status: retryable ? 503 : 502 });
  }
}
