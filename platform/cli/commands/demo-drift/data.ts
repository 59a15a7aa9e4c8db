// The demo's drifted world: Iris flowers measured by a new instrument (every measurement offset, a little noise),
// labelled with their true species. Seeded, so every run sends the same traffic.
import fs from "node:fs";

export const FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"] as const;
/** The offset per feature: enough that the old model mislabels most flowers and every feature drifts. */
export const SHIFT = [1.0, -0.5, 1.5, 0.6] as const;

export interface Flower {
  readonly record: Record<(typeof FEATURES)[number], number>;
  readonly species: string;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function loadBase(csv: string): { x: number[]; species: string }[] {
  const [, ...lines] = fs.readFileSync(csv, "utf8").split(/\r?\n/).filter((l) => l.trim());
  return lines.map((l) => {
    const c = l.split(",");
    return { x: c.slice(0, 4).map(Number), species: (c[4] ?? "").trim() };
  });
}

/** A stream of shifted, labelled flowers. */
export function shiftedFlowers(base: readonly { x: number[]; species: string }[], seed: number): (n: number) => Flower[] {
  const rand = mulberry32(seed);
  return (n) =>
    Array.from({ length: n }, () => {
      const s = base[Math.floor(rand() * base.length)] ?? { x: [0, 0, 0, 0], species: "" };
      const v = s.x.map((x, j) => Math.round((x + (SHIFT[j] ?? 0) + (rand() - 0.5) * 0.2) * 10) / 10);
      return { record: { sepal_length: v[0] ?? 0, sepal_width: v[1] ?? 0, petal_length: v[2] ?? 0, petal_width: v[3] ?? 0 }, species: s.species };
    });
}
