// E2E, the whole closed loop on real servers: the embedded platform serves Iris; drifting traffic moves the drift score;
// real Prometheus scrapes it and fires ModelDriftDetected; real Alertmanager posts it with a bearer token
// (credentials_file) to /hooks/alertmanager; retrain-on-drift requests training; a new version passes the gate and is
// redeployed. Records the time from the webhook to training.requested / training.started / the redeploy.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo } from "../../../platform/cli/commands/demo.ts";
import { startTestPlatform, until, type TestPlatform } from "../../support/platform.ts";
import { repoRoot, startAlertmanager, startPrometheus, testRules, type Server } from "./servers.ts";

interface EventRow {
  id: string;
  type: string;
  time: string;
  receivedAt: number;
  data: Record<string, unknown>;
}

const quiet = { line: () => undefined, json: () => undefined, error: () => undefined };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-drift-e2e-"));
const token = `am-${randomUUID()}`;
let p: TestPlatform | undefined;
let prom: Server | undefined;
let am: Server | undefined;

beforeAll(async () => {
  const tokenFile = path.join(dir, "am-token");
  fs.writeFileSync(tokenFile, token, { mode: 0o600 });
  // Only the drift alert retrains here, so the assertions below follow one cause (the feedback sent with the drifting
  // traffic would also fire ModelAccuracyDropped).
  const policies = path.join(dir, "policies.yaml");
  fs.writeFileSync(policies, "defaults:\n  gate: {metric: accuracy, floors: {accuracy: 0.8}}\n  retrain: {alertnames: [ModelDriftDetected]}\n");
  p = await startTestPlatform({ FLYWHEEL_ALERTMANAGER_TOKEN: token, FLYWHEEL_POLICIES_FILE: policies }, path.join(dir, "data"));
  const demo = await runDemo(p.api, repoRoot, quiet, true);
  expect(demo.prediction).toBe("setosa");
  const target = new URL(p.url).host;
  fs.mkdirSync(path.join(dir, "am"));
  fs.mkdirSync(path.join(dir, "prom"));
  am = await startAlertmanager(path.join(dir, "am"), { webhook: `${p.url}/hooks/alertmanager`, tokenFile, groupWait: "1s" });
  const amPort = new URL(am.url).port;
  prom = await startPrometheus(path.join(dir, "prom"), { target, alertmanager: `127.0.0.1:${amPort}`, rules: testRules(dir, "2s"), interval: "1s" });
}, 240_000);

afterAll(async () => {
  await prom?.stop();
  await am?.stop();
  await p?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function events(type: string): Promise<EventRow[]> {
  if (!p) throw new Error("platform not started");
  return (await p.api.request<{ events: EventRow[] }>("GET", `/api/v1/events?type=${type}&limit=1000`)).events;
}

async function firstEvent(type: string, match: (d: Record<string, unknown>) => boolean, timeoutMs: number): Promise<EventRow> {
  return until(type, async () => (await events(type)).find((e) => match(e.data)), timeoutMs, 250);
}

async function promQuery(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await fetch(`${prom?.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await r.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return body.data.result;
}

/** Flowers far outside Iris' training range on every feature: all land in the baselines' last bins. */
function driftingBatch(n: number, offset: number): Record<string, number>[] {
  return Array.from({ length: n }, (_, i) => ({
    sepal_length: 7.8 + ((i + offset) % 3) * 0.05,
    sepal_width: 4.3,
    petal_length: 6.8 + ((i + offset) % 2) * 0.05,
    petal_width: 2.5,
  }));
}

describe("drift -> alert -> retrain -> redeploy", () => {
  it("closes the loop on real Prometheus and Alertmanager", async () => {
    if (!p || !prom || !am) throw new Error("servers not started");
    // 1. Drifting traffic through the infer function (the DriftMonitor observes every answered row), and its true
    //    labels through POST /feedback: new labelled data, so the retrain is not skipped and can learn them.
    const feedback: { requestId: string; labels: string[] }[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await p.api.raw("POST", "/infer/iris", JSON.stringify(driftingBatch(50, i * 50)), { "content-type": "application/json" });
      expect(r.status).toBe(200);
      feedback.push({ requestId: String(((await r.json()) as { requestId: string }).requestId), labels: Array.from({ length: 50 }, () => "setosa") });
    }
    const fb = await p.api.raw("POST", "/feedback/iris", { feedback });
    expect(fb.status).toBe(202);

    // 2. Prometheus sees the drift score of iris version 1 above the rule's threshold.
    const scores = await until("drift score in Prometheus", async () => {
      const res = await promQuery('max by (model, version) (flywheel_model_drift_score{model="iris"})');
      return res.length && Number(res[0]?.value[1]) > 0.2 ? res : undefined;
    }, 60_000, 500);
    expect(scores[0]?.metric).toMatchObject({ model: "iris", version: "1" });

    // 3. Alertmanager posted the alert with the bearer token: one alert.firing event.
    const firing = await firstEvent("dev.flywheel.alert.firing", (d) => d.alertname === "ModelDriftDetected", 60_000);
    expect(firing.data).toMatchObject({ status: "firing", labels: { alertname: "ModelDriftDetected", model: "iris", version: "1" }, receiver: "flywheel" });

    // 4. retrain-on-drift: started, with the alert in the lineage, then training runs.
    const decided = await firstEvent("dev.flywheel.retrain.decided", (d) => d.decision === "started", 30_000);
    expect(decided.data).toMatchObject({ model: "iris", reason: "started" });
    const requested = await firstEvent("dev.flywheel.training.requested", (d) => (d.trigger as { reason?: string } | undefined)?.reason === "drift", 30_000);
    expect(requested.data).toMatchObject({ model: "iris", trigger: { reason: "drift", eventId: firing.id, alert: { alertname: "ModelDriftDetected", labels: { model: "iris" } } } });
    const started = await firstEvent("dev.flywheel.training.started", (d) => (d.trigger as { reason?: string }).reason === "drift", 60_000);

    // 5. A new version is logged, passes the gate against the champion, and is redeployed.
    const logged = await firstEvent("dev.flywheel.model.logged", (d) => d.version === "2", 120_000);
    expect(logged.data).toMatchObject({ model: "iris", trigger: { reason: "drift" } });
    const promoted = await firstEvent("dev.flywheel.model.promoted", (d) => d.version === "2", 60_000);
    expect(promoted.data).toMatchObject({ model: "iris", previousVersion: "1", cause: "gate" });
    const ready = await firstEvent("dev.flywheel.deployment.ready", (d) => d.name === "iris" && d.version === "2", 60_000);

    // Repeats of the notification (Alertmanager's repeat/group interval) never started a second training.
    expect((await events("dev.flywheel.training.requested")).filter((e) => (e.data.trigger as { reason?: string } | undefined)?.reason === "drift")).toHaveLength(1);

    const t0 = firing.receivedAt;
    const figures = {
      webhookToTrainingRequestedMs: requested.receivedAt - t0,
      webhookToTrainingStartedMs: started.receivedAt - t0,
      webhookToModelLoggedMs: logged.receivedAt - t0,
      webhookToRedeployedMs: ready.receivedAt - t0,
    };
    console.log(`drift e2e figures ${JSON.stringify(figures)}`);
    expect(figures.webhookToTrainingStartedMs).toBeGreaterThanOrEqual(0);
  }, 300_000);
});
