// Iris data: the shipped CSV, feature/label names, and a seeded, stratified, deterministic train/test split.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"] as const;
export type Feature = (typeof FEATURES)[number];
export const LABELS = ["setosa", "versicolor", "virginica"] as const;
export type Label = (typeof LABELS)[number];

export interface Sample {
  readonly x: readonly number[];
  /** class index into LABELS */
  readonly y: number;
}

export const IRIS_CSV = path.join(path.dirname(fileURLToPath(import.meta.url)), "iris.csv");

/** Parse the CSV (header sepal_length,sepal_width,petal_length,petal_width,species). Throws on any malformed row. */
export function parseIris(text: string): Sample[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  const header = (lines.shift() ?? "").split(",").map((s) => s.trim());
  const expected = [...FEATURES, "species"];
  if (header.join(",") !== expected.join(",")) throw new Error(`iris.csv: header must be ${expected.join(",")}`);
  return lines.map((line, i) => {
    const cells = line.split(",").map((s) => s.trim());
    const x = cells.slice(0, 4).map(Number);
    const y = LABELS.findIndex((l) => l === cells[4]);
    if (cells.length !== 5 || x.some((v) => !Number.isFinite(v)) || y < 0) throw new Error(`iris.csv: bad row ${i + 2}`);
    return { x, y };
  });
}

export function loadIris(file = IRIS_CSV): Sample[] {
  return parseIris(fs.readFileSync(file, "utf8"));
}

/** mulberry32: a tiny seeded PRNG, so the split and the initial weights are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: readonly T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Stratified split: testFraction of every class is held out, chosen by the seed. */
export function split(samples: readonly Sample[], seed: number, testFraction = 0.2): { train: Sample[]; test: Sample[] } {
  const rand = rng(seed);
  const train: Sample[] = [];
  const test: Sample[] = [];
  for (let c = 0; c < LABELS.length; c++) {
    const ofClass = shuffle(
      samples.filter((s) => s.y === c),
      rand,
    );
    const nTest = Math.round(ofClass.length * testFraction);
    test.push(...ofClass.slice(0, nTest));
    train.push(...ofClass.slice(nTest));
  }
  return { train: shuffle(train, rand), test };
}
