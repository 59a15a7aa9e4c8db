// What infer calls: issue a signed request id for every answer, and write a sampled, scrubbed record off the request
// path. Where records go is a sink: the day-partitioned files (embedded) or one CloudEvent each (Knative).
import { createHash } from "node:crypto";
import type { Logger } from "../log.ts";
import { errorFields } from "../log.ts";
import type { RequestIds } from "./ids.ts";
import { scrub, type LoggingPolicy } from "./policy.ts";
import type { LogRecord } from "./store.ts";

export interface InferenceLogSink {
  write(rec: LogRecord): void | Promise<void>;
}

export interface Answered {
  readonly requestId: string;
  readonly deployment: string;
  readonly model?: string | undefined;
  readonly version?: string | undefined;
  readonly rows: readonly Record<string, unknown>[];
  readonly predictions: readonly (string | number)[];
  readonly classes?: readonly string[] | undefined;
}

/** Sampling by the id itself: the same id always gets the same decision, on every replica. */
export function sampled(requestId: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  return createHash("sha256").update(requestId).digest().readUInt32BE(0) / 0x1_0000_0000 < rate;
}

export class InferenceLogger {
  constructor(
    private readonly o: {
      readonly ids: RequestIds;
      readonly sink: InferenceLogSink;
      readonly policyFor: (deployment: string) => LoggingPolicy;
      /** Key of the personal-data hash: hashed values stay joinable inside one installation only. */
      readonly hashKey: string;
      readonly log: Logger;
      readonly now: () => number;
    },
  ) {}

  get ids(): RequestIds {
    return this.o.ids;
  }

  issue(deployment: string): string {
    return this.o.ids.issue(deployment, this.o.now());
  }

  /** Scheduled after the answer; a failing sink is logged, never thrown at the caller. */
  record(a: Answered): void {
    const policy = this.o.policyFor(a.deployment);
    if (!sampled(a.requestId, policy.sampleRate)) return;
    const time = this.o.ids.verify(a.deployment, a.requestId) ?? this.o.now();
    const rec: LogRecord = {
      requestId: a.requestId,
      time,
      deployment: a.deployment,
      model: a.model,
      version: a.version,
      rows: a.rows.map((r) => scrub(r, policy, this.o.hashKey)),
      predictions: a.predictions,
      ...(a.classes ? { classes: a.classes } : {}),
    };
    setImmediate(() => {
      Promise.resolve()
        .then(() => this.o.sink.write(rec))
        .catch((e: unknown) => this.o.log.warn("inference log: record not written", { deployment: a.deployment, ...errorFields(e) }));
    });
  }
}
