// DriftCounters: the DriftObserver every infer replica runs. It only counts (bins against the version's baseline,
// outliers) and exports the baseline's proportions; Prometheus' recording rules turn the counts of all replicas into
// PSI (platform/telemetry/rules.ts). Nothing here is a window: a replica that vanishes loses no statistic.
import { Counter, Gauge, type Registry } from "prom-client";
import type { Logger } from "../log.ts";
import { errorFields } from "../log.ts";
import type { DriftObservation, DriftObserver } from "../ports.ts";
import type { Baseline, BaselineLoader } from "./baseline.ts";
import { baselineBins, PREDICTION_FEATURE } from "./bins.ts";
import { DEFAULT_OUTLIER_Z, outlierTest, type OutlierTest } from "./outliers.ts";
import { DropOldestQueue } from "./queue.ts";

export const DRIFT_BIN_METRIC = "flywheel_drift_bin_observations_total";
export const DRIFT_BASELINE_METRIC = "flywheel_drift_baseline_proportion";
export const OUTLIER_METRIC = "flywheel_model_outliers_total";

export interface DriftCountersOptions {
  readonly registry: Registry;
  readonly loadBaseline: BaselineLoader;
  readonly log?: Logger | undefined;
  /** |z| beyond which a numeric value is an outlier (besides falling outside the baseline's range). Default 4. */
  readonly outlierZ?: number | undefined;
  /** Observations held per version while its baseline loads (oldest dropped). Default 1000. */
  readonly pendingCapacity?: number | undefined;
  /** After a loader failure or a missing baseline, ask again after this long. Default 60 s. */
  readonly baselineRetryMs?: number | undefined;
  /** A version idle this long loses its series (a retrained-away version must stop exporting). Default 1 h; 0 = never. */
  readonly idleTtlMs?: number | undefined;
  readonly now?: (() => number) | undefined;
}

/**
 * A bin's count since the last scrape. The request path only bumps a number; prom-client's own inc() hashes the label
 * set on every call (~µs per value), so counts move into the counter when Prometheus scrapes (collect()).
 */
class Pending {
  n = 0;
  /** Scraped at least once. A series' first scrape must show 0: increase() cannot count what a series starts with. */
  exposed = false;
  constructor(readonly labels: Readonly<Record<string, string>>) {}
  inc(): void {
    this.n++;
  }
}
type Handle = Pending;

interface ReadyFeature {
  readonly feature: string;
  readonly bin: (v: number | string) => string;
  readonly counters: ReadonlyMap<string, Handle>;
  readonly outlier: { readonly test: OutlierTest; readonly counter: Handle } | undefined;
}

interface VersionState {
  readonly model: string;
  readonly version: string;
  state: "loading" | "ready" | "missing";
  retryAt: number;
  lastSeen: number;
  features: ReadonlyMap<string, ReadyFeature>;
  prediction: ReadyFeature | undefined;
  pending: DropOldestQueue<DriftObservation> | undefined;
  labels: { feature: string; bin: string }[];
  outlierFeatures: string[];
}

export class DriftCounters implements DriftObserver {
  readonly #o: Required<Omit<DriftCountersOptions, "log">> & { log: Logger | undefined };
  readonly #versions = new Map<string, VersionState>();
  readonly #bins: Counter<"model" | "version" | "feature" | "bin">;
  readonly #baseline: Gauge<"model" | "version" | "feature" | "bin">;
  readonly #outliers: Counter<"model" | "version" | "feature">;
  // One set per counter: each counter's collect() runs once per scrape, so "first scrape" means what it says.
  readonly #pendingBins = new Set<Pending>();
  readonly #pendingOutliers = new Set<Pending>();

  constructor(opts: DriftCountersOptions) {
    this.#o = {
      registry: opts.registry,
      loadBaseline: opts.loadBaseline,
      log: opts.log,
      outlierZ: opts.outlierZ ?? DEFAULT_OUTLIER_Z,
      pendingCapacity: opts.pendingCapacity ?? 1000,
      baselineRetryMs: opts.baselineRetryMs ?? 60_000,
      idleTtlMs: opts.idleTtlMs ?? 60 * 60_000,
      now: opts.now ?? Date.now,
    };
    const registers = [opts.registry];
    this.#bins = new Counter({
      name: DRIFT_BIN_METRIC,
      help: `Served values per bin of the model version's drift baseline (numeric bins by index, categories by name, ${PREDICTION_FEATURE} = predictions). Recording rules turn them into PSI.`,
      labelNames: ["model", "version", "feature", "bin"],
      registers,
      collect: () => this.#flush(this.#pendingBins, this.#bins),
    });
    this.#baseline = new Gauge({
      name: DRIFT_BASELINE_METRIC,
      help: "Expected proportion of each bin in the model version's drift baseline (what PSI compares the served bins with).",
      labelNames: ["model", "version", "feature", "bin"],
      registers,
    });
    this.#outliers = new Counter({
      name: OUTLIER_METRIC,
      help: "Served feature values outside the baseline: beyond its range or its z-score threshold.",
      labelNames: ["model", "version", "feature"],
      registers,
      collect: () => this.#flush(this.#pendingOutliers, this.#outliers),
    });
  }

  /** Move the counts gathered since the last scrape into the counters. */
  #flush(pending: ReadonlySet<Pending>, counter: Counter<string>): void {
    for (const p of pending) {
      if (!p.exposed) {
        // Its first scrape: export the zero; what came meanwhile moves in at the next one (one interval late).
        p.exposed = true;
        continue;
      }
      if (p.n === 0) continue;
      counter.inc(p.labels, p.n);
      p.n = 0;
    }
  }

  /** Request path (infer schedules it after the response): a few map lookups and counter increments, never awaits. */
  observe(obs: DriftObservation): void {
    const k = key(obs.model, obs.version);
    const now = this.#o.now();
    this.#expireIdle(now);
    let st = this.#versions.get(k);
    if (!st) {
      st = { model: obs.model, version: obs.version, state: "loading", retryAt: 0, lastSeen: now, features: new Map(), prediction: undefined, pending: undefined, labels: [], outlierFeatures: [] };
      this.#versions.set(k, st);
      void this.#load(st);
    }
    st.lastSeen = now;
    if (st.state === "ready") return this.#count(st, obs);
    if (st.state === "loading") {
      st.pending ??= new DropOldestQueue(this.#o.pendingCapacity);
      st.pending.push(obs);
      return;
    }
    if (now >= st.retryAt) {
      st.state = "loading";
      void this.#load(st);
    }
  }

  /** Resolves once every baseline load in flight has settled (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.#loads]);
  }

  /** Drop a version's series (undeployed, or idle past the TTL). */
  forget(model: string, version: string): void {
    const st = this.#versions.get(key(model, version));
    if (!st) return;
    for (const f of [...st.features.values(), ...(st.prediction ? [st.prediction] : [])]) {
      for (const c of f.counters.values()) this.#pendingBins.delete(c);
      if (f.outlier) this.#pendingOutliers.delete(f.outlier.counter);
    }
    for (const l of st.labels) {
      this.#bins.remove({ model, version, ...l });
      this.#baseline.remove({ model, version, ...l });
    }
    for (const feature of st.outlierFeatures) this.#outliers.remove({ model, version, feature });
    this.#versions.delete(key(model, version));
  }

  readonly #loads = new Set<Promise<void>>();

  #load(st: VersionState): Promise<void> {
    const p = this.#doLoad(st).finally(() => this.#loads.delete(p));
    this.#loads.add(p);
    return p;
  }

  async #doLoad(st: VersionState): Promise<void> {
    let baseline: Baseline | undefined;
    try {
      baseline = await this.#o.loadBaseline(st.model, st.version);
      if (!baseline) this.#o.log?.info("drift: no baseline for model version; not counted", { model: st.model, version: st.version });
    } catch (e) {
      this.#o.log?.warn("drift: baseline could not be loaded", { model: st.model, version: st.version, ...errorFields(e) });
    }
    if (!this.#versions.has(key(st.model, st.version))) return;
    if (!baseline) {
      st.state = "missing";
      st.retryAt = this.#o.now() + this.#o.baselineRetryMs;
      st.pending = undefined;
      return;
    }
    this.#ready(st, baseline);
    const pending = st.pending;
    st.pending = undefined;
    for (let obs = pending?.shift(); obs; obs = pending?.shift()) this.#count(st, obs);
  }

  #ready(st: VersionState, baseline: Baseline): void {
    const { model, version } = st;
    const features = new Map<string, ReadyFeature>();
    let prediction: ReadyFeature | undefined;
    for (const b of baselineBins(baseline)) {
      const counters = new Map<string, Handle>();
      b.labels.forEach((bin, i) => {
        // inc(0) creates every bin's series at once: the rules need zero bins to exist, not be absent.
        const labels = { model, version, feature: b.feature, bin };
        this.#bins.inc(labels, 0);
        const c = new Pending(labels);
        this.#pendingBins.add(c);
        counters.set(bin, c);
        this.#baseline.set({ model, version, feature: b.feature, bin }, b.expected[i] ?? 0);
        st.labels.push({ feature: b.feature, bin });
      });
      const base = b.feature === PREDICTION_FEATURE ? undefined : baseline.features[b.feature];
      let outlier: ReadyFeature["outlier"];
      if (base?.type === "numeric") {
        const labels = { model, version, feature: b.feature };
        this.#outliers.inc(labels, 0);
        const counter = new Pending(labels);
        this.#pendingOutliers.add(counter);
        st.outlierFeatures.push(b.feature);
        outlier = { test: outlierTest(base, this.#o.outlierZ), counter };
      }
      const f: ReadyFeature = { feature: b.feature, bin: b.bin, counters, outlier };
      if (b.feature === PREDICTION_FEATURE) prediction = f;
      else features.set(b.feature, f);
    }
    st.features = features;
    st.prediction = prediction;
    st.state = "ready";
  }

  #count(st: VersionState, obs: DriftObservation): void {
    for (const [name, values] of Object.entries(obs.features)) {
      const f = st.features.get(name);
      if (!f) continue;
      for (const v of values) {
        f.counters.get(f.bin(v))?.inc();
        if (f.outlier?.test(v)) f.outlier.counter.inc();
      }
    }
    const p = st.prediction;
    if (p) for (const v of obs.predictions) p.counters.get(p.bin(v))?.inc();
  }

  #lastSweep = 0;

  #expireIdle(now: number): void {
    const ttl = this.#o.idleTtlMs;
    if (ttl <= 0 || now - this.#lastSweep < 60_000) return;
    this.#lastSweep = now;
    for (const st of [...this.#versions.values()]) if (now - st.lastSeen > ttl) this.forget(st.model, st.version);
  }
}

/** Feeds every observer; one failing never stops the others (the first error is rethrown after, for infer to log). */
export function fanOut(...observers: readonly (DriftObserver | undefined)[]): DriftObserver {
  const list = observers.filter((o): o is DriftObserver => o !== undefined);
  return {
    observe(obs) {
      let failure: unknown;
      for (const o of list) {
        try {
          o.observe(obs);
        } catch (e) {
          failure ??= e;
        }
      }
      if (failure !== undefined) throw failure;
    },
  };
}

const key = (model: string, version: string): string => `${model}\u0000${version}`;
