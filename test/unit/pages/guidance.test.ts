// First-run guidance, favicon, event detail, artifacts, deploy-name protection, htmx error fragments.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byId, fieldErrors, uiHarness } from "./harness.ts";
import type { Session, UiHarness } from "./harness.ts";

let h: UiHarness;
let viewer: Session;
let ops: Session;
beforeAll(async () => {
  h = await uiHarness();
  viewer = await h.as("viewer");
  ops = await h.as("mlops-engineer");
});
afterAll(() => h.close());

describe("guidance and safety", () => {
  it("says what to do first until the loop has run once", async () => {
    const empty = await uiHarness({ jobs: 0 });
    const s = await empty.as("viewer");
    const html = await (await s.get("/")).text();
    expect(html).toContain('id="first-steps"');
    expect(html).toContain('href="/training?example=iris-node"');
    await empty.close();
    // The default fakes have a job, a model and a deployment: no guidance.
    expect(await (await viewer.get("/")).text()).not.toContain('id="first-steps"');
  });

  it("fills the launch form from the shipped Iris example and from pasted YAML, and names the line of bad YAML", async () => {
    const ex = await (await viewer.get("/training?example=iris-node")).text();
    expect(ex).toContain("Filled from the iris-node example");
    expect(ex).toContain("examples/iris-node/train.ts</textarea>");
    const ok = await (await viewer.post("/training/yaml", { yaml: "kind: ddp\nmodel: mnist\ncommand: [python3, train.py]\nreplicas: 2\n" })).text();
    expect(ok).toContain('name="model" id="model" value="mnist"');
    expect(ok).toContain('name="replicas" id="replicas" value="2"');
    // Only the chosen kind's fields are shown (and sent): ddp has replicas, not executors.
    expect(ok).toMatch(/<fieldset class="only" data-when-kind="spark" hidden="" disabled="">/);
    expect(ok).toMatch(/<fieldset class="only" data-when-kind="ddp">/);
    const bad = await viewer.post("/training/yaml", { yaml: "kind: single\nmodel: [iris\nparams: {a: 1}\n" });
    expect(bad.status).toBe(422);
    expect(fieldErrors(await bad.text(), "yaml")[0] ?? "").toMatch(/^line 3, column \d+: /);
  });

  it("serves a favicon", async () => {
    const res = await viewer.get("/static/favicon.svg");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/svg+xml");
    expect((await viewer.get("/favicon.ico")).headers.get("location")).toBe("/static/favicon.svg");
  });

  it("asks before a deployment replaces what another one serves", async () => {
    const before = h.fakes.emitted.length;
    const res = await ops.post("/deployments", { kind: "model", name: "iris", model: "iris", ref: "version", version: "1" });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(fieldErrors(html, "name")[0]).toContain("iris already serves iris v2");
    expect(html).toContain('name="replace" value="yes"');
    expect(h.fakes.emitted.length).toBe(before);
    expect((await ops.post("/deployments", { kind: "model", name: "iris", model: "iris", ref: "version", version: "1", replace: "yes" })).status).toBe(303);
    expect(h.fakes.emitted.length).toBe(before + 1);
  });

  it("answers an htmx request that fails with a fragment, not a whole page", async () => {
    const res = await viewer.get("/registry/runs/missing", { "hx-request": "true" });
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).toBe('<p class="error" role="alert">run missing does not exist</p>');
  });
});

describe("events, drift and artifacts", () => {
  it("opens an event's payload and trace", async () => {
    const html = await (await viewer.get("/activity/events/e1")).text();
    expect(html).toContain('href="http://jaeger.example/trace/0af7651916cd43dd8448eb211c80319c"');
    expect(byId(html, "event-payload")).toBe("{}");
    expect((await viewer.get("/activity/events/nope")).status).toBe(404);
  });

  it("filters by the short type the table shows", async () => {
    const html = await (await viewer.get("/activity?type=retrain.decided")).text();
    expect(html).toContain('data-event="e2"');
    expect(html).not.toContain('data-event="e1"');
  });

  it("draws drift history per feature, says what the badge means, and warns that no alert fires", async () => {
    const html = await (await viewer.get("/activity")).text();
    expect(html).toContain("drifted: petal_length above 0.2");
    expect(html).toContain('id="drift-history-iris-2"');
    expect(html).toContain('data-series="petal_length"');
    expect(byId(html, "alerting-note")).toContain("Alertmanager is not configured here, so drift never raises an alert");
  });

  it("decodes a dead letter's error body", async () => {
    const dl = h.fakes.deps.events;
    const list = await dl.deadLetters({ limit: 10, offset: 0 });
    expect(list.length).toBeGreaterThan(0);
    const html = await (await viewer.get("/activity")).text();
    expect(html).toContain('<pre class="dead-body" tabindex="0">{\n  &quot;error&quot;: &quot;spec.model: must be lowercase&quot;');
  });

  it("lists, previews and downloads a run's artifacts", async () => {
    const list = await (await viewer.get("/registry/runs/run00001/artifacts")).text();
    expect(list).toContain('href="/registry/runs/run00001/artifacts?path=model"');
    expect(list).toContain('href="/registry/runs/run00001/artifacts/view?path=metrics.json"');
    const json = await (await viewer.get("/registry/runs/run00001/artifacts/view?path=metrics.json")).text();
    expect(json).toContain('data-preview="json">{\n  &quot;accuracy&quot;: 0.97');
    const csv = await (await viewer.get("/registry/runs/run00001/artifacts/view?path=data.csv")).text();
    expect(csv).toContain("<td>x, y</td>");
    expect(csv).toContain("<td>&lt;script&gt;</td>");
    const bin = await (await viewer.get("/registry/runs/run00001/artifacts/view?path=model/model.onnx")).text();
    expect(bin).toContain("A binary file");
    const raw = await viewer.get("/registry/runs/run00001/artifacts/raw?path=metrics.json&download=1");
    expect(raw.headers.get("content-disposition")).toBe('attachment; filename="metrics.json"');
    expect(raw.headers.get("content-security-policy")).toContain("sandbox");
    expect(await raw.text()).toBe('{"accuracy":0.97,"loss":0.08}');
    expect((await viewer.get("/registry/runs/run00001/artifacts/view?path=../x")).status).toBe(400);
  });
});

describe("deployment traffic", () => {
  it("shows requests, error rate and p50/p99 per arm, and a canary's progress to its decision", async () => {
    const now = Date.now();
    const t = await uiHarness({
      now: () => now,
      extraDeployments: [{
        name: "iris-canary", kind: "experiment", backend: "local", revision: "r2", warnings: [], state: "ready", conditions: [], updatedAt: now,
        spec: { kind: "experiment", name: "iris-canary", resourceType: "model", candidates: [{ name: "iris-v1", weight: 90 }, { name: "iris-v2", weight: 10 }] },
      }],
      traffic: {
        stats: async () => ({ "iris-v1": { requests: 180, errors: 0, p50Ms: 2.1, p95Ms: 4, p99Ms: 7.5 }, "iris-v2": { requests: 20, errors: 1, p50Ms: 2.4, p95Ms: 5, p99Ms: 9 } }),
        canary: () => ({ stable: { deployment: "iris-v1", version: "1" }, candidate: { deployment: "iris-v2", version: "2" }, percent: 10, startedAt: now - 3 * 60_000, decideAfterRequests: 100, decideAfterMinutes: 30 }),
      },
    });
    const html = await (await (await t.as("viewer")).get("/deployments/iris-canary")).text();
    expect(html).toMatch(/<tr data-candidate="iris-v2">.*?<td class="num">10%<\/td><td class="num">20<\/td><td class="num">10.0%<\/td><td class="num">5.0%<\/td><td class="num">2.4 ms<\/td><td class="num">9 ms<\/td><\/tr>/);
    expect(html).toContain("Progress to the decision: 20% (20/100 requests, 3.0/30 min)");
    await t.close();
  });
});
