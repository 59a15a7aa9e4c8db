// A bounded FIFO that drops its oldest item when full, so a burst never grows memory or blocks the producer.
export class DropOldestQueue<T> {
  readonly #buf: (T | undefined)[];
  #head = 0;
  #size = 0;
  #dropped = 0;
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("queue capacity must be a positive integer");
    this.#buf = new Array<T | undefined>(capacity);
  }

  /** Adds `v`; returns true when an older item had to be dropped to make room. */
  push(v: T): boolean {
    if (this.#size === this.capacity) {
      this.#buf[this.#head] = v;
      this.#head = (this.#head + 1) % this.capacity;
      this.#dropped++;
      return true;
    }
    this.#buf[(this.#head + this.#size) % this.capacity] = v;
    this.#size++;
    return false;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const v = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.capacity;
    this.#size--;
    return v;
  }

  get size(): number {
    return this.#size;
  }

  get dropped(): number {
    return this.#dropped;
  }
}
