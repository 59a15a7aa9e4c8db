// Fixed-size sliding windows (ring buffers) of recent served values, one per feature of one model version.

/** The last `capacity` values pushed, oldest overwritten first. */
export class RingWindow<T> {
  readonly #items: T[] = [];
  #next = 0;
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("window capacity must be a positive integer");
  }

  push(v: T): void {
    if (this.#items.length < this.capacity) this.#items.push(v);
    else this.#items[this.#next] = v;
    this.#next = (this.#next + 1) % this.capacity;
  }

  get size(): number {
    return this.#items.length;
  }

  /** The values in no particular order: every statistic we compute is order-free. */
  values(): readonly T[] {
    return this.#items;
  }
}

/** Windows of one model version: a numeric window per feature, and one for predictions. */
export class VersionWindow {
  readonly features = new Map<string, RingWindow<number>>();
  readonly predictions: RingWindow<number | string>;
  /** Observations added since the last scoring pass. */
  pending = 0;
  constructor(readonly capacity: number) {
    this.predictions = new RingWindow(capacity);
  }

  add(features: Readonly<Record<string, readonly number[]>>, predictions: readonly (string | number)[]): void {
    for (const [name, values] of Object.entries(features)) {
      let w = this.features.get(name);
      if (!w) {
        w = new RingWindow<number>(this.capacity);
        this.features.set(name, w);
      }
      for (const v of values) w.push(v);
    }
    for (const p of predictions) this.predictions.push(p);
    this.pending++;
  }

  /** Rows seen in the fullest feature window (what minSamples is checked against). */
  get samples(): number {
    let n = this.predictions.size;
    for (const w of this.features.values()) n = Math.max(n, w.size);
    return n;
  }
}
