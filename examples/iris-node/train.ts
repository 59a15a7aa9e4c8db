// Iris trainer with no Python: `node --import tsx examples/iris-node/train.ts`. Writes the docs/artifacts.md layout.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { baseline, writeModelDir } from "./artifacts.ts";
import { FEATURES, IRIS_CSV, LABELS, loadIris, rng, split, type Sample } from "./data.ts";
import { accuracy, crossEntropy, train, type LinearModel } from "./model.ts";
import { toOnnx } from "./onnx.ts";
import { logRun } from "./registry.ts";
import type { EpochPoint } from "./registry.ts";
import { loadData, type IrisData } from "./window.ts";

export interface IrisParams {
  readonly epochs: number;
  readonly lr: number;
  readonly seed: number;
  readonly testFraction: number;
  /** Share of the base dataset kept (seeded) when there is feedback data, so recent data can outweigh old data. */
  readonly baseFraction: number;
  /** Share of the feedback window held out: the recent labelled holdout the gate scores on. */
  readonly holdoutFraction: number;
}

export const DEFAULT_PARAMS: IrisParams = { epochs: 300, lr: 0.5, seed: 42, testFraction: 0.2, baseFraction: 1, holdoutFraction: 0.3 };

type Env = Record<string, string | undefined>;

/** FLYWHEEL_PARAMS (JSON object) first, then FLYWHEEL_PARAM_<NAME> on top; values may be strings or numbers. */
export function paramsFromEnv(env: Env): IrisParams {
  const raw: Record<string, unknown> = {};
  if (env.FLYWHEEL_PARAMS) {
    const parsed: unknown = JSON.parse(env.FLYWHEEL_PARAMS);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) Object.assign(raw, parsed);
  }
  const pick = (key: keyof IrisParams, envKey: string): number => {
    const v = env[`FLYWHEEL_PARAM_${envKey}`] ?? raw[key] ?? raw[envKey.toLowerCase()];
    if (v === undefined || v === "") return DEFAULT_PARAMS[key];
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`param ${key} must be a number, got ${JSON.stringify(v)}`);
    return n;
  };
  const p = {
    epochs: Math.trunc(pick("epochs", "EPOCHS")),
    lr: pick("lr", "LR"),
    seed: Math.trunc(pick("seed", "SEED")),
    testFraction: pick("testFraction", "TEST_FRACTION"),
    baseFraction: pick("baseFraction", "BASE_FRACTION"),
    holdoutFraction: pick("holdoutFraction", "HOLDOUT_FRACTION"),
  };
  if (p.epochs < 1 || p.lr <= 0 || p.testFraction <= 0 || p.testFraction >= 1) {
    throw new Error("params: epochs >= 1, lr > 0 and 0 < testFraction < 1 are required");
  }
  if (p.baseFraction <= 0 || p.baseFraction > 1 || p.holdoutFraction <= 0 || p.holdoutFraction >= 1) {
    throw new Error("params: 0 < baseFraction <= 1 and 0 < holdoutFraction < 1 are required");
  }
  return p;
}

export interface TrainResult {
  readonly model: LinearModel;
  readonly metrics: { accuracy: number; loss: number; train_accuracy: number; train_loss: number; base_accuracy: number };
  readonly outDir: string;
  /** Every epoch's training loss and accuracy, for the run's metric history. */
  readonly epochs: readonly EpochPoint[];
}

const MIN_WINDOW_HOLDOUT = 10;

/** A seeded subset of `share` of the samples (all of them at 1). */
function subsample(samples: readonly Sample[], share: number, seed: number): Sample[] {
  if (share >= 1) return [...samples];
  const rand = rng(seed ^ 0x5eed);
  return samples.filter(() => rand() < share);
}

const csvOf = (rows: readonly Sample[]): string => [[...FEATURES, "label"].join(","), ...rows.map((s) => [...s.x, LABELS[s.y]].join(","))].join("\n") + "\n";

/**
 * Train on the base data (a seeded share of it) plus the feedback window's training part, and evaluate on the recent
 * labelled holdout when the window has one (else on the base split). Writes every artifact under outDir, including
 * holdout.csv (what the gate scores champion and candidate on) and data.json (the exact data used, for lineage).
 */
export function run(params: IrisParams, outDir: string, now: () => Date = () => new Date(), data: IrisData = { base: loadIris(), baseUri: IRIS_CSV, window: [], windowInfo: undefined }): TrainResult {
  const base = data.window.length ? subsample(data.base, params.baseFraction, params.seed) : [...data.base];
  const { train: baseTrain, test: baseTest } = split(base, params.seed, params.testFraction);
  const recent = data.window.length ? split(data.window, params.seed, params.holdoutFraction) : { train: [], test: [] };
  const trainSet = [...baseTrain, ...recent.train];
  const onWindow = recent.test.length >= MIN_WINDOW_HOLDOUT;
  const test = onWindow ? recent.test : baseTest;
  const samples = [...base, ...data.window];
  fs.mkdirSync(outDir, { recursive: true });
  const progress = fs.openSync(path.join(outDir, "progress.jsonl"), "w");
  const epochs: EpochPoint[] = [];
  const model = train(trainSet, {
    epochs: params.epochs,
    lr: params.lr,
    seed: params.seed,
    classes: LABELS.length,
    onEpoch: (s) => {
      const time = now().getTime();
      epochs.push({ epoch: s.epoch, loss: s.loss, accuracy: s.accuracy, time });
      fs.writeSync(progress, JSON.stringify({ step: s.epoch, metric: "loss", value: s.loss, time }) + "\n");
      fs.writeSync(progress, JSON.stringify({ step: s.epoch, metric: "accuracy", value: s.accuracy, time }) + "\n");
    },
  });
  fs.closeSync(progress);
  const metrics = {
    accuracy: accuracy(model, test),
    loss: crossEntropy(model, test),
    train_accuracy: accuracy(model, trainSet),
    train_loss: crossEntropy(model, trainSet),
    base_accuracy: accuracy(model, baseTest),
  };
  fs.writeFileSync(path.join(outDir, "holdout.csv"), csvOf(test));
  const used = {
    base: { uri: data.baseUri, rows: base.length, of: data.base.length },
    ...(data.windowInfo ? { window: { ...data.windowInfo, rows: data.window.length } } : {}),
    train: { rows: trainSet.length, base: baseTrain.length, window: recent.train.length },
    holdout: { rows: test.length, source: onWindow ? "window" : "base", file: "holdout.csv" },
  };
  fs.writeFileSync(path.join(outDir, "data.json"), JSON.stringify(used, null, 2) + "\n");
  const onnx = toOnnx(model, { metadata: { labels: JSON.stringify(LABELS) } });
  writeModelDir(path.join(outDir, "model"), onnx, now());
  fs.writeFileSync(path.join(outDir, "metrics.json"), JSON.stringify(metrics, null, 2) + "\n");
  fs.writeFileSync(path.join(outDir, "baseline.json"), JSON.stringify(baseline(model, samples), null, 2) + "\n");
  return { model, metrics, outDir, epochs };
}

async function main(): Promise<void> {
  const outDir = path.resolve(process.env.FLYWHEEL_ARTIFACT_DIR || "./out");
  const params = paramsFromEnv(process.env);
  console.log(`training iris: epochs=${params.epochs} lr=${params.lr} seed=${params.seed} -> ${outDir}`);
  const data = loadData(process.env);
  if (data.windowInfo) console.log(`data: ${data.base.length} base rows (keeping ${params.baseFraction}) + ${data.window.length} labelled feedback rows`);
  const { metrics, epochs } = run(params, outDir, () => new Date(), data);
  console.log(`held-out accuracy=${metrics.accuracy.toFixed(4)} loss=${metrics.loss.toFixed(4)}`);
  try {
    const runId = await logRun(process.env, outDir, { ...params }, epochs, metrics, Date.now());
    if (runId) console.log(`logged run ${runId} with ${epochs.length} epochs of metric history`);
  } catch (e) {
    // The model is trained and on disk: log-model still registers it on a run of its own, without the history.
    console.error(`could not log the run to the registry: ${e instanceof Error ? e.message : String(e)}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error(`iris training failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
