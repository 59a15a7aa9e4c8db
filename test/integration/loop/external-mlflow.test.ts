// The loop against an external MLflow (the fake built from recorded MLflow 2.17.2 answers): `flywheel demo` closes it,
// first training -> champion -> deployed; the embedded registry steps aside and /readyz follows the external server.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo } from "../../../platform/cli/commands/demo.ts";
import { MlflowClient, MlflowModelRegistry } from "../../../platform/mlflow/index.ts";
import { championSpec } from "../../../functions/retrain-on-drift/lineage.ts";
import { startFakeMlflow, type FakeMlflow } from "../../support/fake-mlflow/index.ts";
import { startTestPlatform, until, type TestPlatform } from "../../support/platform.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const quiet = { line: () => undefined, json: () => undefined, error: () => undefined };

let fake: FakeMlflow;
let p: TestPlatform;
let prediction: string;

beforeAll(async () => {
  fake = await startFakeMlflow();
  p = await startTestPlatform({ MLFLOW_TRACKING_URI: fake.url });
  prediction = (await runDemo(p.api, repoRoot, quiet, true)).prediction;
}, 240_000);

afterAll(async () => {
  await p?.stop();
  await fake?.close();
});

describe("flywheel demo against an external MLflow (fake from recorded answers)", () => {
  it("closes the loop: trained, registered in the external MLflow, champion, deployed, predicting", async () => {
    expect(prediction).toBe("setosa");
    const client = new MlflowClient({ trackingUri: fake.url });
    const rm = await client.getRegisteredModel("iris");
    expect(rm.aliases).toEqual([{ alias: "champion", version: "1" }]);
    const spec = await championSpec(new MlflowModelRegistry(client), "iris");
    expect(spec).toMatchObject({ ok: true, version: "1", spec: { model: "iris", kind: "single" } });
    // "No champion yet" was decided from the model's aliases, never by asking for the missing alias.
    expect(fake.requests.some((r) => r.method === "GET" && r.path === "/api/2.0/mlflow/registered-models/alias")).toBe(false);
  });

  it("the training run was recorded on the external server (log-model creates it there)", async () => {
    const runsCreated = fake.requests.filter((r) => r.path === "/api/2.0/mlflow/runs/create");
    expect(runsCreated.length).toBeGreaterThanOrEqual(1);
  });

  it("the embedded registry does not serve /api/2.0/mlflow: 404 in MLflow's shape naming the external URI", async () => {
    const res = await fetch(`${p.url}/api/2.0/mlflow/experiments/get?experiment_id=0`, { headers: { authorization: `Bearer ${p.token ?? ""}` } });
    expect(res.status).toBe(404);
    const body: unknown = await res.json();
    expect(body).toMatchObject({ error_code: "ENDPOINT_NOT_FOUND" });
    expect(String(Object(body).message)).toContain(fake.url);
  });

  it("/readyz reports the external server and fails while it is unreachable", async () => {
    const ready = async (): Promise<{ status: number; body: { components: { name: string; ok: boolean; detail?: string }[] } }> => {
      const r = await fetch(`${p.url}/readyz`);
      return { status: r.status, body: (await r.json()) as { components: { name: string; ok: boolean; detail?: string }[] } };
    };
    expect((await ready()).status).toBe(200);
    await fake.setReachable(false);
    try {
      const down = await until("readyz to fail", async () => {
        const r = await ready();
        return r.status === 503 ? r : undefined;
      }, 10_000);
      const reg = down.body.components.find((c) => c.name === "registry");
      expect(reg?.ok).toBe(false);
      expect(reg?.detail).toContain(fake.url);
    } finally {
      await fake.setReachable(true);
    }
    await until("readyz to recover", async () => ((await ready()).status === 200 ? true : undefined), 10_000);
  });
  it("a training job gets the external tracking URI, and no embedded-registry token", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-ext-job-"));
    try {
      const out = path.join(tmp, "env.json");
      const job = `require("node:fs").writeFileSync(${JSON.stringify(out)}, JSON.stringify({ uri: process.env.MLFLOW_TRACKING_URI ?? "", token: process.env.MLFLOW_TRACKING_TOKEN ?? "" }));`;
      const res = await fetch(`${p.url}/api/v1/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${p.token ?? ""}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "env-probe", command: [process.execPath, "-e", job], timeoutSeconds: 60 }),
      });
      expect(res.status, await res.clone().text()).toBe(202);
      const seen = await until("the job's environment", () => (fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, "utf8")) as { uri: string; token: string }) : undefined), 60_000);
      expect(seen).toEqual({ uri: fake.url, token: "" });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
