// Where the topology's time goes: named phases (startup, per-function start, cold starts, test steps), printed as a table.
export interface Phase {
  readonly name: string;
  readonly ms: number;
}

export class Timings {
  readonly phases: Phase[] = [];

  add(name: string, ms: number): void {
    this.phases.push({ name, ms });
  }

  addSync<T>(name: string, fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.add(name, performance.now() - t0);
    }
  }

  /** Time `fn` under `name`. */
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.add(name, performance.now() - t0);
    }
  }

  report(title = "topology timing"): string {
    const w = Math.max(...this.phases.map((p) => p.name.length), 10);
    const lines = this.phases.map((p) => `  ${p.name.padEnd(w)}  ${(p.ms / 1000).toFixed(2).padStart(8)} s`);
    return [`${title}:`, ...lines].join("\n");
  }
}
