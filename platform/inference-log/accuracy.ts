// Live accuracy per model version from feedback labels: counters of outcomes that Prometheus sums over every replica
// (what ModelAccuracyDropped and the rollback policy read there), and a gauge over the last N labels (the in-process view).
import { Counter, Gauge, type Registry } from "prom-client";
import { FEEDBACK_METRIC } from "../telemetry/rules.ts";
import type { FileInferenceLog } from "./store.ts";

const DAY = 86_400_000;

/**
 * Knative mode: the labelled rows are on a volume every infer replica shares, so the in-process reading comes from
 * there rather than from this replica's own share of the feedback. Every replica then reports the same gauge, and the
 * rollback policy on any replica sees all the labels even without Prometheus. The counters stay per replica (summed).
 */
export interface SharedLabels {
  readonly store: FileInferenceLog;
  readonly now: () => number;
  /** How far back labelled rows are read (by request time). */
  readonly days?: number;
}

export interface AccuracyReading {
  readonly accuracy: number;
  readonly samples: number;
}

/** Where the rollback policy reads a version's live accuracy: this process, or Prometheus (every replica). */
export interface AccuracySource {
  /** Named in the policy's log line. */
  readonly source: string;
  get(model: string, version: string): AccuracyReading | undefined | Promise<AccuracyReading | undefined>;
}

type Outcome = "correct" | "incorrect";

/** Labels joined since the last scrape for one series; its first scrape shows 0 (increase() cannot count a start value). */
interface Pending {
  readonly labels: { model: string; version: string; outcome: Outcome };
  n: number;
  exposed: boolean;
}

export class LiveAccuracy implements AccuracySource {
  readonly source: string;
  readonly #window: number;
  readonly #recent = new Map<string, boolean[]>();
  readonly #pending = new Map<string, Pending>();
  readonly #total: Counter<"model" | "version" | "outcome">;
  readonly #gauge: Gauge<"model" | "version">;
  readonly #samples: Gauge<"model" | "version">;
  readonly #shared: SharedLabels | undefined;

  constructor(registry: Registry, window = 200, shared?: SharedLabels) {
    this.#window = window;
    this.#shared = shared;
    this.source = shared ? "shared inference log" : "in-process";
    const registers = [registry];
    this.#total = new Counter({
      name: FEEDBACK_METRIC,
      help: "Feedback labels joined with a logged prediction, by outcome (correct|incorrect). Rules sum them over replicas into live accuracy.",
      labelNames: ["model", "version", "outcome"],
      registers,
      collect: () => this.#flush(),
    });
    // Shared: recomputed at each scrape from the shared labelled rows, so a replica that got no feedback is not stale.
    // A bad file on the volume must not take /metrics down with it: the gauge keeps its last values instead.
    const refresh = shared
      ? () => {
          try {
            this.#refreshAll();
          } catch {
            /* keep the last values */
          }
        }
      : undefined;
    this.#gauge = new Gauge({
      name: "flywheel_model_live_accuracy",
      help: "Accuracy of a model version over its most recent feedback labels (this process', or the shared log's in Knative mode).",
      labelNames: ["model", "version"],
      registers,
      ...(refresh ? { collect: refresh } : {}),
    });
    this.#samples = new Gauge({ name: "flywheel_model_live_accuracy_samples", help: "Feedback labels behind flywheel_model_live_accuracy.", labelNames: ["model", "version"], registers });
  }

  /**
   * A series that appears with its first labels already counted loses them to increase(): each new series is exported
   * at 0 first, and its labels move in at the next scrape (one interval late), as the drift counters do.
   */
  #flush(): void {
    for (const p of this.#pending.values()) {
      if (!p.exposed) {
        this.#total.inc(p.labels, 0);
        p.exposed = true;
        continue;
      }
      if (p.n === 0) continue;
      this.#total.inc(p.labels, p.n);
      p.n = 0;
    }
  }

  #refreshAll(): void {
    const shared = this.#shared;
    if (!shared) return;
    for (const model of shared.store.labelledModels()) {
      const versions = new Set(this.#sharedRows(model).map((r) => r.version));
      for (const version of versions) {
        const r = this.get(model, version);
        if (!r) continue;
        this.#gauge.set({ model, version }, r.accuracy);
        this.#samples.set({ model, version }, r.samples);
      }
    }
  }

  #sharedRows(model: string): ReturnType<FileInferenceLog["labelled"]> {
    const shared = this.#shared;
    if (!shared) return [];
    const now = shared.now();
    return shared.store.labelled(model, now - (shared.days ?? 30) * DAY, now + DAY);
  }

  add(model: string, version: string, correct: boolean): void {
    const k = `${model}\u0000${version}`;
    const list = this.#recent.get(k) ?? [];
    list.push(correct);
    if (list.length > this.#window) list.shift();
    this.#recent.set(k, list);
    const outcome: Outcome = correct ? "correct" : "incorrect";
    // Both outcomes get a series at once: the rules divide correct by all, and a missing side must read as 0.
    for (const o of ["correct", "incorrect"] as const) {
      const pk = `${k}\u0000${o}`;
      let p = this.#pending.get(pk);
      if (!p) this.#pending.set(pk, (p = { labels: { model, version, outcome: o }, n: 0, exposed: false }));
      if (o === outcome) p.n++;
    }
    const r = this.get(model, version);
    if (r) {
      this.#gauge.set({ model, version }, r.accuracy);
      this.#samples.set({ model, version }, r.samples);
    }
  }

  get(model: string, version: string): AccuracyReading | undefined {
    if (this.#shared) {
      // The latest label per (request, row) of this version, the most recent `window` of them by when they arrived.
      const rows = this.#sharedRows(model).filter((r) => r.version === version).sort((a, b) => a.labelledAt - b.labelledAt).slice(-this.#window);
      if (!rows.length) return undefined;
      return { accuracy: rows.filter((r) => r.predicted === r.label).length / rows.length, samples: rows.length };
    }
    const list = this.#recent.get(`${model}\u0000${version}`);
    if (!list?.length) return undefined;
    return { accuracy: list.filter(Boolean).length / list.length, samples: list.length };
  }
}
