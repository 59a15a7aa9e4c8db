// Live accuracy per model version from feedback labels: a counter of outcomes (for Prometheus rates) and a gauge over
// the last N labels (what ModelAccuracyDropped watches, and what the rollback policy compares).
import { Counter, Gauge, type Registry } from "prom-client";
import type { FileInferenceLog } from "./store.ts";

const DAY = 86_400_000;

/**
 * Knative mode: the labelled rows are on a volume every infer replica shares, so the reading comes from there rather
 * than from this replica's own share of the feedback. Every replica then reports the same accuracy (Prometheus'
 * `max by (model, version)` over replicas is that value) and the rollback policy on any replica sees all the labels.
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

export class LiveAccuracy {
  readonly #window: number;
  readonly #recent = new Map<string, boolean[]>();
  readonly #total: Counter<"model" | "version" | "outcome">;
  readonly #gauge: Gauge<"model" | "version">;
  readonly #samples: Gauge<"model" | "version">;

  readonly #shared: SharedLabels | undefined;

  constructor(registry: Registry, window = 200, shared?: SharedLabels) {
    this.#window = window;
    this.#shared = shared;
    const registers = [registry];
    this.#total = new Counter({ name: "flywheel_model_feedback_total", help: "Feedback labels joined with a logged prediction, by outcome (correct|incorrect).", labelNames: ["model", "version", "outcome"], registers });
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
    this.#gauge = new Gauge({ name: "flywheel_model_live_accuracy", help: "Accuracy of a model version over its most recent feedback labels.", labelNames: ["model", "version"], registers, ...(refresh ? { collect: refresh } : {}) });
    this.#samples = new Gauge({ name: "flywheel_model_live_accuracy_samples", help: "Feedback labels behind flywheel_model_live_accuracy.", labelNames: ["model", "version"], registers });
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
    this.#total.inc({ model, version, outcome: correct ? "correct" : "incorrect" });
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
