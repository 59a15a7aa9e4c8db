// Live accuracy per model version from feedback labels: a counter of outcomes (for Prometheus rates) and a gauge over
// the last N labels (what ModelAccuracyDropped watches, and what the rollback policy compares).
import { Counter, Gauge, type Registry } from "prom-client";

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

  constructor(registry: Registry, window = 200) {
    this.#window = window;
    const registers = [registry];
    this.#total = new Counter({ name: "flywheel_model_feedback_total", help: "Feedback labels joined with a logged prediction, by outcome (correct|incorrect).", labelNames: ["model", "version", "outcome"], registers });
    this.#gauge = new Gauge({ name: "flywheel_model_live_accuracy", help: "Accuracy of a model version over its most recent feedback labels.", labelNames: ["model", "version"], registers });
    this.#samples = new Gauge({ name: "flywheel_model_live_accuracy_samples", help: "Feedback labels behind flywheel_model_live_accuracy.", labelNames: ["model", "version"], registers });
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
    const list = this.#recent.get(`${model}\u0000${version}`);
    if (!list?.length) return undefined;
    return { accuracy: list.filter(Boolean).length / list.length, samples: list.length };
  }
}
