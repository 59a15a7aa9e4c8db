// The whole loop in one process with the real Iris trainer (child process) and real onnxruntime, then replays.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo, SAMPLE_FLOWER } from "../../../platform/cli/commands/demo.ts";
import { toHttpBinary, fromStructured } from "../../../platform/events/envelope.ts";
import { startTestPlatform, until, type TestPlatform } from "../../support/platform.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const quiet = { line: () => undefined, json: () => undefined, error: () => undefined };

interface EventRow {
  id: string;
  type: string;
  source: string;
  attributes: Record<string, unknown>;
  data: Record<string, unknown>;
}

let p: TestPlatform;
let prediction: string;
let jobId: string;

async function events(type: string): Promise<EventRow[]> {
  return (await p.api.request<{ events: EventRow[] }>("GET", `/api/v1/events?type=${type}&limit=1000`)).events;
}

beforeAll(async () => {
  p = await startTestPlatform();
  const result = await runDemo(p.api, repoRoot, quiet, true);
  prediction = result.prediction;
  const jobs = await p.api.request<{ jobs: { id: string }[] }>("GET", "/api/v1/jobs?model=iris");
  jobId = jobs.jobs[0]?.id ?? "";
}, 180_000);

afterAll(async () => {
  await p?.stop();
});

describe("the embedded loop", () => {
  it("trains, registers, deploys and predicts setosa for the sample flower", () => {
    expect(prediction).toBe("setosa");
  });

  it("registered the model with lineage and made it champion", async () => {
    const alias = await p.api.request<{ model_version: { version: string; tags: { key: string; value: string }[] } }>(
      "GET",
      "/api/2.0/mlflow/registered-models/alias?name=iris&alias=champion",
    );
    expect(alias.model_version.version).toBe("1");
    const tags = Object.fromEntries(alias.model_version.tags.map((t) => [t.key, t.value]));
    expect(JSON.parse(tags["flywheel.training_spec"] ?? "{}")).toMatchObject({ model: "iris", kind: "single" });
    expect(tags["flywheel.job_id"]).toBe(jobId);
  });

  it("answers a list of records and a natural-language request through /infer", async () => {
    const many = await p.api.request<{ predictions: unknown[] }>("POST", "/infer/iris", [
      SAMPLE_FLOWER,
      { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.2, petal_width: 2.3 },
    ]);
    expect(many.predictions).toHaveLength(2);
    expect(JSON.stringify(many.predictions[1])).toContain("virginica");
    const nl = await p.api.raw("POST", "/infer/iris", "predict iris: sepal length 5.1, sepal width 3.5, petal length 1.4, petal width 0.2", { "content-type": "text/plain" });
    expect(nl.status).toBe(200);
    expect(JSON.stringify(await nl.json())).toContain("setosa");
  });

  it("serves the model on the V2 protocol", async () => {
    const meta = await p.api.request<{ name: string; inputs: { name: string; datatype: string; shape: number[] }[] }>("GET", "/v2/models/iris");
    expect(meta.inputs[0]).toMatchObject({ datatype: "FP32", shape: [-1, 4] });
  });

  it("exposes the loop on /metrics", async () => {
    const res = await p.api.raw("GET", "/metrics");
    const text = await res.text();
    expect(text).toMatch(/flywheel_broker_deliveries_total\{[^}]*outcome="success"/);
    expect(text).toMatch(/flywheel_inference_requests_total\{[^}]*model="iris"/);
  });

  it("delivering each event of the loop 3 more times creates no second job, version or deployment", async () => {
    const chain: [string, string][] = [
      ["dev.flywheel.training.requested", "launch-training"],
      ["dev.flywheel.training.succeeded", "log-model"],
      ["dev.flywheel.model.promoted", "deploy-model"],
    ];
    for (const [type, fn] of chain) {
      const [ev] = await events(type);
      expect(ev, type).toBeDefined();
      const ce = fromStructured({ ...ev!.attributes, data: ev!.data });
      const { headers, body } = toHttpBinary(ce);
      for (let i = 0; i < 3; i++) {
        const res = await p.platform.functions[fn]!.request("/", { method: "POST", headers, body });
        expect(res.status, `${fn} replay ${i}`).toBe(200);
      }
    }
    // The same event id through the ingress again is stored once.
    const [req] = await events("dev.flywheel.training.requested");
    const again = toHttpBinary(fromStructured({ ...req!.attributes, data: req!.data }));
    for (let i = 0; i < 3; i++) {
      const res = await p.api.raw("POST", "/events", again.body, again.headers);
      expect(res.status).toBe(202);
    }
    await p.platform.broker.idle();

    const jobs = await p.api.request<{ jobs: unknown[] }>("GET", "/api/v1/jobs");
    expect(jobs.jobs).toHaveLength(1);
    const versions = await p.api.request<{ model_versions?: unknown[] }>("GET", "/api/2.0/mlflow/model-versions/search?filter=name%3D%27iris%27");
    expect(versions.model_versions).toHaveLength(1);
    const deployments = await p.api.request<{ deployments: { name: string }[] }>("GET", "/api/v1/deployments");
    expect(deployments.deployments.map((d) => d.name)).toEqual(["iris"]);
    expect(await events("dev.flywheel.training.requested")).toHaveLength(1);
    expect(await events("dev.flywheel.model.logged")).toHaveLength(1);
    expect((await events("dev.flywheel.deployment.ready")).length).toBe(1);
  });

  it("still predicts after the replays", async () => {
    const res = await until("prediction", async () => {
      const r = await p.api.raw("POST", "/infer/iris", JSON.stringify(SAMPLE_FLOWER), { "content-type": "application/json" });
      return r.ok ? r.json() : undefined;
    });
    expect(JSON.stringify(res)).toContain("setosa");
  });
});
