// `flywheel demo`: the Iris loop end to end (train -> log -> deploy -> infer), each step timed, last line the prediction.
import os from "node:os";
import path from "node:path";
import fs from "node:fs";
import { common, parseCommand } from "../args.ts";
import { ApiClient } from "../client.ts";
import type { Out } from "../output.ts";
import { waitForJob } from "./jobs.ts";

/** The sample flower: a textbook Iris setosa. */
export const SAMPLE_FLOWER = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

export function irisSpec(repoRoot: string): Record<string, unknown> {
  // The runner starts jobs in their own directory, so tsx's loader is named by absolute URL rather than "tsx".
  const tsxLoader = import.meta.resolve("tsx");
  return {
    kind: "single",
    model: "iris",
    experiment: "iris",
    command: [process.execPath, "--import", tsxLoader, path.join(repoRoot, "examples/iris-node/train.ts")],
    params: { epochs: "300", lr: "0.1", seed: "7" },
    dataset: "file://" + path.join(repoRoot, "examples/iris-node/iris.csv"),
    timeoutSeconds: 300,
  };
}

export interface EventRow {
  id: string;
  type: string;
  time: string;
  data: Record<string, unknown>;
}

export async function waitForEvent(api: ApiClient, type: string, match: (data: Record<string, unknown>) => boolean, timeoutMs: number): Promise<EventRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.request<{ events: EventRow[] }>("GET", `/api/v1/events?type=${encodeURIComponent(type)}&limit=100`);
    const hit = res.events.find((e) => match(e.data));
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${type}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs the loop against a platform at `api`. Throws on any failed step. */
export async function runDemo(api: ApiClient, repoRoot: string, out: Out, json: boolean): Promise<{ prediction: string; steps: { step: string; ms: number }[] }> {
  const steps: { step: string; ms: number }[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>, describe: (v: T) => string): Promise<T> => {
    const t0 = performance.now();
    const v = await fn();
    const ms = Math.round(performance.now() - t0);
    steps.push({ step: name, ms });
    if (!json) out.line(`${name.padEnd(18)} ${String(ms).padStart(6)} ms  ${describe(v)}`);
    return v;
  };

  const requested = await step("1 request", () => api.request<{ jobId: string; eventId: string }>("POST", "/api/v1/jobs", irisSpec(repoRoot)), (r) => `training.requested, job ${r.jobId}`);
  const job = await step("2 train", () => waitForJob(api, requested.jobId, 300_000), (j) => `${j.state} (child process wrote model.onnx)`);
  if (job.state !== "succeeded") throw new Error(`training ${job.state}: ${job.failureReason ?? ""} ${job.message ?? ""}`);
  const logged = await step("3 log-model", () => waitForEvent(api, "dev.flywheel.model.logged", (d) => d.jobId === requested.jobId, 60_000), (e) => `registered iris version ${String(e.data.version)}`);
  const version = String(logged.data.version);
  const ready = await step(
    "4 deploy-model",
    () => waitForEvent(api, "dev.flywheel.deployment.ready", (d) => d.name === "iris" && d.version === version, 60_000),
    (e) => `deployment iris ready on ${String(e.data.backend)} (revision ${String(e.data.revision)})`,
  );
  void ready;
  const answer = await step(
    "5 infer",
    () => api.request<{ predictions: unknown[] }>("POST", "/infer/iris", SAMPLE_FLOWER),
    () => `V2 request built from the model's signature`,
  );
  const prediction = predictionLabel(answer.predictions[0]);
  return { prediction, steps };
}

function predictionLabel(p: unknown): string {
  if (typeof p === "string") return p;
  if (p && typeof p === "object") {
    const o = p as Record<string, unknown>;
    for (const k of ["label", "class", "prediction", "species"]) if (typeof o[k] === "string") return o[k];
  }
  return JSON.stringify(p);
}

export async function demo(argv: string[], env: NodeJS.ProcessEnv, out: Out, repoRoot: string): Promise<number> {
  const { values } = parseCommand(argv, { "data-dir": { type: "string" }, drift: { type: "boolean" } });
  const c = common(values, env);
  if (values.drift) {
    const { driftDemo } = await import("./demo-drift/index.ts");
    return driftDemo({ url: c.url, token: c.token, json: c.json, dataDir: values["data-dir"] }, env, out, repoRoot);
  }
  if (c.url) {
    const result = await runDemo(new ApiClient({ url: c.url, token: c.token }), repoRoot, out, c.json);
    if (c.json) out.json(result);
    out.line(`prediction: ${result.prediction}`);
    return 0;
  }
  // No --url: an in-process platform on a free port and a throwaway data dir.
  const { startEmbedded } = await import("../../app/start.ts");
  const dataDir = values["data-dir"] ?? fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-demo-"));
  const platform = await startEmbedded({ env: { ...env, FLYWHEEL_LOG_LEVEL: env.FLYWHEEL_LOG_LEVEL ?? "warn" }, port: 0, host: "127.0.0.1", dataDir, quiet: true });
  try {
    if (!c.json) out.line(`platform: ${platform.url} (in-process, data in ${dataDir})`);
    const result = await runDemo(new ApiClient({ url: platform.url, token: platform.token }), repoRoot, out, c.json);
    if (c.json) out.json(result);
    out.line(`prediction: ${result.prediction}`);
    return 0;
  } finally {
    await platform.stop();
  }
}
