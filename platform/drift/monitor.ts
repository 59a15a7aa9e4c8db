// DriftMonitor: the infer path's DriftObserver. observe() only enqueues; windows and scores are updated off the request path.
import { Counter, Gauge, type Registry } from "prom-client";
import type { Logger } from "../log.ts";
import { errorFields } from "../log.ts";
import type { DriftObservation, DriftObserver } from "../ports.ts";
import type { Baseline, BaselineLoader } from "./baseline.ts";
import { DropOldestQueue } from "./queue.ts";
import { PREDICTION_FEATURE } from "./bins.ts";
import { featureScore, type DriftMethod } from "./stats.ts";
import { VersionWindow } from "./window.ts";
import type { DriftPoint } from "./history.ts";

export { PREDICTION_FEATURE } from "./bins.ts";

export interface DriftMonitorOptions {
  /** Registry the metrics are registered on (the platform's one registry). */
  readonly registry: Registry;
  readonly loadBaseline: BaselineLoader;
  readonly log?: Logger | undefined;
  /** Statistic for numeric features; categorical features and predictions always use PSI. Default psi. */
  readonly method?: DriftMethod | undefined;
  /** A feature scoring above this means drift. Default 0.2 (PSI's "significant shift"). */
  readonly threshold?: number | undefined;
  /** Rows kept per feature per model version. Default 1000. */
  readonly windowSize?: number | undefined;
  /** No score is published before a window holds this many rows. Default 100. */
  readonly minSamples?: number | undefined;
  /** Observations waiting to be windowed; the oldest is dropped (and counted) when full. Default 10000. */
  readonly queueCapacity?: number | undefined;
  /** How often dirty windows are re-scored. Default 1000 ms. */
  readonly scoreIntervalMs?: number | undefined;
  /**
   * A version with no traffic for this long is forgotten: its window and series go, so an old version that no longer
   * serves (replaced by a retrain) cannot keep ModelDriftDetected firing. Default 30 min; 0 = never.
   */
  readonly idleTtlMs?: number | undefined;
  /** After a loader failure or a missing baseline, ask again after this long. Default 60 s. */
  readonly baselineRetryMs?: number | undefined;
  readonly now?: (() => number) | undefined;
  /** Each scoring that produced scores (the history chart's points: StateDriftHistory.record). Never throws. */
  readonly onScore?: ((model: string, version: string, point: DriftPoint) => void) | undefined;
}

type BaselineState =
  | { readonly state: "loading" }
  | { readonly state: "ready"; readonly baseline: Baseline }
  | { readonly state: "missing"; readonly retryAt: number };

interface VersionState {
  readonly model: string;
  readonly version: string;
  readonly window: VersionWindow;
  baseline: BaselineState | undefined;
  drifted: boolean;
  scores: Record<string, number>;
  lastSeen: number;
}

export interface DriftSnapshot {
  readonly model: string;
  readonly version: string;
  readonly samples: number;
  readonly drifted: boolean;
  readonly baseline: "loading" | "ready" | "missing" | "unknown";
  readonly scores: Readonly<Record<string, number>>;
}

const DRAIN_BATCH = 2000;

export class DriftMonitor implements DriftObserver {
  readonly #o: Required<Omit<DriftMonitorOptions, "log" | "onScore">> & { log: Logger | undefined; onScore: DriftMonitorOptions["onScore"] };
  readonly #queue: DropOldestQueue<DriftObservation>;
  readonly #versions = new Map<string, VersionState>();
  readonly #score: Gauge<"model" | "version" | "feature">;
  readonly #detected: Counter<"model" | "version">;
  readonly #dropped: Counter;
  readonly #samples: Gauge<"model" | "version">;
  #drainScheduled = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: DriftMonitorOptions) {
    this.#o = {
      registry: opts.registry,
      loadBaseline: opts.loadBaseline,
      log: opts.log,
      onScore: opts.onScore,
      method: opts.method ?? "psi",
      threshold: opts.threshold ?? 0.2,
      windowSize: opts.windowSize ?? 1000,
      minSamples: opts.minSamples ?? 100,
      queueCapacity: opts.queueCapacity ?? 10_000,
      scoreIntervalMs: opts.scoreIntervalMs ?? 1000,
      baselineRetryMs: opts.baselineRetryMs ?? 60_000,
      idleTtlMs: opts.idleTtlMs ?? 30 * 60_000,
      now: opts.now ?? Date.now,
    };
    this.#queue = new DropOldestQueue(this.#o.queueCapacity);
    const registers = [opts.registry];
    this.#score = new Gauge({
      name: "flywheel_model_drift_score",
      help: `Drift score per feature of a served model version against its training baseline (PSI; KS for numeric features when configured). Feature ${PREDICTION_FEATURE} is the prediction distribution.`,
      labelNames: ["model", "version", "feature"],
      registers,
    });
    this.#detected = new Counter({
      name: "flywheel_model_drift_detected_total",
      help: "Times a model version went from no drift to drift (some feature score above the threshold).",
      labelNames: ["model", "version"],
      registers,
    });
    this.#dropped = new Counter({
      name: "flywheel_drift_observations_dropped_total",
      help: "Observations dropped because the drift queue was full (oldest first).",
      registers,
    });
    this.#samples = new Gauge({
      name: "flywheel_drift_window_samples",
      help: "Rows currently in the drift window of a model version.",
      labelNames: ["model", "version"],
      registers,
    });
  }

  /** Called on the request path: O(1), never throws, never awaits. */
  observe(obs: DriftObservation): void {
    if (this.#closed) return;
    if (this.#queue.push(obs)) this.#dropped.inc();
    if (!this.#drainScheduled) {
      this.#drainScheduled = true;
      setImmediate(() => this.#drain());
    }
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.#scoreDirty(), this.#o.scoreIntervalMs);
      this.#timer.unref();
    }
  }

  /** Window everything queued and score every version now (tests, shutdown, the UI's refresh). */
  async flush(): Promise<void> {
    while (this.#queue.size > 0) this.#drainBatch(Number.POSITIVE_INFINITY);
    await this.#scoreDirty(true);
  }

  /** Stop the timer; later observations are ignored. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Drop a version's window and series (e.g. after it is undeployed), so stale scores cannot keep an alert firing. */
  forget(model: string, version: string): void {
    const st = this.#versions.get(key(model, version));
    if (!st) return;
    for (const feature of Object.keys(st.scores)) this.#score.remove({ model, version, feature });
    this.#samples.remove({ model, version });
    this.#versions.delete(key(model, version));
  }

  snapshot(model: string, version: string): DriftSnapshot | undefined {
    const st = this.#versions.get(key(model, version));
    if (!st) return undefined;
    return {
      model,
      version,
      samples: st.window.samples,
      drifted: st.drifted,
      baseline: st.baseline?.state ?? "unknown",
      scores: { ...st.scores },
    };
  }

  get dropped(): number {
    return this.#queue.dropped;
  }

  #drain(): void {
    this.#drainScheduled = false;
    this.#drainBatch(DRAIN_BATCH);
    // Yield between batches so a burst never holds the event loop.
    if (this.#queue.size > 0 && !this.#drainScheduled) {
      this.#drainScheduled = true;
      setImmediate(() => this.#drain());
    }
  }

  #drainBatch(max: number): void {
    for (let i = 0; i < max; i++) {
      const obs = this.#queue.shift();
      if (!obs) return;
      const k = key(obs.model, obs.version);
      let st = this.#versions.get(k);
      if (!st) {
        st = { model: obs.model, version: obs.version, window: new VersionWindow(this.#o.windowSize), baseline: undefined, drifted: false, scores: {}, lastSeen: 0 };
        this.#versions.set(k, st);
      }
      st.lastSeen = this.#o.now();
      st.window.add(obs.features, obs.predictions);
    }
  }

  async #scoreDirty(all = false): Promise<void> {
    const loads: Promise<void>[] = [];
    const ttl = this.#o.idleTtlMs;
    for (const st of [...this.#versions.values()]) {
      if (ttl > 0 && this.#o.now() - st.lastSeen > ttl) {
        this.#o.log?.info("drift: version idle; window and scores dropped", { model: st.model, version: st.version });
        this.forget(st.model, st.version);
        continue;
      }
      if (!all && st.window.pending === 0) continue;
      const b = st.baseline;
      if (!b || (b.state === "missing" && this.#o.now() >= b.retryAt)) {
        loads.push(this.#load(st));
        continue;
      }
      if (b.state === "ready") this.#scoreOne(st, b.baseline);
    }
    if (loads.length === 0) return;
    await Promise.all(loads);
    for (const st of this.#versions.values()) {
      if (st.baseline?.state === "ready" && st.window.pending > 0) this.#scoreOne(st, st.baseline.baseline);
    }
  }

  async #load(st: VersionState): Promise<void> {
    st.baseline = { state: "loading" };
    try {
      const baseline = await this.#o.loadBaseline(st.model, st.version);
      st.baseline = baseline ? { state: "ready", baseline } : { state: "missing", retryAt: this.#o.now() + this.#o.baselineRetryMs };
      if (!baseline) this.#o.log?.info("drift: no baseline for model version; not scored", { model: st.model, version: st.version });
    } catch (e) {
      st.baseline = { state: "missing", retryAt: this.#o.now() + this.#o.baselineRetryMs };
      this.#o.log?.warn("drift: baseline could not be loaded", { model: st.model, version: st.version, ...errorFields(e) });
    }
  }

  #scoreOne(st: VersionState, baseline: Baseline): void {
    const { model, version, window } = st;
    window.pending = 0;
    this.#samples.set({ model, version }, window.samples);
    const scores: Record<string, number> = {};
    for (const [feature, base] of Object.entries(baseline.features)) {
      const w = window.features.get(feature);
      if (!w || w.size < this.#o.minSamples) continue;
      scores[feature] = featureScore(base, w.values(), this.#o.method);
    }
    if (baseline.predictions && window.predictions.size >= this.#o.minSamples) {
      scores[PREDICTION_FEATURE] = featureScore(baseline.predictions, window.predictions.values(), "psi");
    }
    for (const [feature, value] of Object.entries(scores)) this.#score.set({ model, version, feature }, value);
    st.scores = scores;
    if (Object.keys(scores).length) this.#o.onScore?.(model, version, { at: this.#o.now(), scores });
    const drifted = Object.values(scores).some((s) => s > this.#o.threshold);
    if (drifted && !st.drifted) {
      this.#detected.inc({ model, version });
      this.#o.log?.info("drift detected", { model, version, scores });
    }
    st.drifted = drifted;
  }
}

const key = (model: string, version: string): string => `${model}\u0000${version}`;
