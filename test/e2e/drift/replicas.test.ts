// E2E, drift across replicas on real Prometheus and Alertmanager: 3 Knative-mode infer processes (production entry)
// behind a round-robin proxy, reaching a stand-in InferenceService (the embedded platform's V2 server, via the fake API
// server). Prometheus scrapes each replica; the shipped rules (test overlay: 2 min window, short `for`) record PSI from
// their summed bin counters. Drifted traffic, one replica stopped halfway: the PSI crosses the threshold,
// ModelDriftDetected fires, Alertmanager posts to the webhook, and exactly one retrain starts.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo } from "../../../platform/cli/commands/demo.ts";
import { RECORDED } from "../../../platform/telemetry/rules.ts";
import { startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";
import { exposedNames, standInInferenceService, startFunction, writeKubeconfig, type FunctionProcess } from "../../support/knative-process.ts";
import { startTestPlatform, until, type TestPlatform } from "../../support/platform.ts";
import { repoRoot, startAlertmanager, startPrometheus, testRules, type Server } from "./servers.ts";

const quiet = { line: () => undefined, json: () => undefined, error: () => undefined };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-replicas-e2e-"));
const token = `am-${randomUUID()}`;
const NS = "flywheel";
const WINDOW = "2m";
let p: TestPlatform | undefined;
let kube: FakeKube | undefined;
let prom: Server | undefined;
let am: (Server & { port: number }) | undefined;
let proxy: http.Server | undefined;
let proxyUrl = "";
const replicas: FunctionProcess[] = [];
const served = new Map<string, number>();

/** Round-robin over the replicas still running, as a Knative activator/queue would spread requests. */
function startProxy(): Promise<string> {
  let next = 0;
  proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const alive = replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
      const target = alive[next++ % alive.length];
      if (!target) return void res.writeHead(503).end();
      served.set(target.target + target.url, (served.get(target.target + target.url) ?? 0) + 1);
      fetch(`${target.url}${req.url ?? "/"}`, { method: req.method, headers: { "content-type": req.headers["content-type"] ?? "application/json" }, body: Buffer.concat(chunks) }).then(
        async (r) => res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "application/json" }).end(Buffer.from(await r.arrayBuffer())),
        () => res.writeHead(502).end(),
      );
    });
  });
  return new Promise((resolve) => proxy?.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(proxy?.address() as AddressInfo).port}`)));
}

beforeAll(async () => {
  const tokenFile = path.join(dir, "am-token");
  fs.writeFileSync(tokenFile, token, { mode: 0o600 });
  // This test is about drift detection across replicas, not the data a retrain sees: the new-data policy is off.
  const policies = path.join(dir, "policies.yaml");
  fs.writeFileSync(policies, "defaults:\n  retrain: {requireNewData: false}\n");
  p = await startTestPlatform({ FLYWHEEL_ALERTMANAGER_TOKEN: token, FLYWHEEL_POLICIES_FILE: policies }, path.join(dir, "data"));
  expect((await runDemo(p.api, repoRoot, quiet, true)).prediction).toBe("setosa");
  kube = await startFakeKube({ namespace: NS });
  standInInferenceService(kube, { name: "iris", namespace: NS, model: "iris", version: "1", url: p.url });
  const env = {
    KUBECONFIG: writeKubeconfig(dir, kube.kubeconfigYaml),
    FLYWHEEL_NAMESPACE: NS,
    FLYWHEEL_SERVING_BACKEND: "kserve",
    FLYWHEEL_BROKER_URL: `${p.url}/events`,
    FLYWHEEL_AUTH_TOKEN: p.token ?? "",
    MLFLOW_TRACKING_URI: p.url,
    MLFLOW_TRACKING_TOKEN: p.token ?? "",
    K_SERVICE: "infer",
    K_REVISION: "infer-00001",
  };
  for (let i = 0; i < 3; i++) {
    fs.mkdirSync(path.join(dir, `infer-${i}`));
    replicas.push(await startFunction("infer", { ...env, FLYWHEEL_DATA_DIR: path.join(dir, `infer-${i}`) }));
  }
  proxyUrl = await startProxy();
  fs.mkdirSync(path.join(dir, "am"));
  fs.mkdirSync(path.join(dir, "prom"));
  am = await startAlertmanager(path.join(dir, "am"), { webhook: `${p.url}/hooks/alertmanager`, tokenFile, groupWait: "1s" });
  prom = await startPrometheus(path.join(dir, "prom"), {
    target: replicas.map((r) => new URL(r.url).host),
    alertmanager: `127.0.0.1:${am.port}`,
    rules: testRules(dir, "2s", { driftWindow: WINDOW }),
    interval: "1s",
  });
}, 300_000);

afterAll(async () => {
  await prom?.stop();
  await am?.stop();
  await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
  for (const r of replicas) await r.stop();
  await kube?.close();
  await p?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function promQuery(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await fetch(`${prom?.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return ((await r.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result;
}

interface EventRow {
  id: string;
  data: Record<string, unknown>;
}
const events = async (type: string): Promise<EventRow[]> => (await p?.api.request<{ events: EventRow[] }>("GET", `/api/v1/events?type=${type}&limit=1000`))?.events ?? [];

/** Flowers far outside Iris' training range: every feature lands in its baseline's last bin. */
const drifted = (n: number): Record<string, number>[] => Array.from({ length: n }, (_, i) => ({ sepal_length: 7.8 + (i % 3) * 0.05, sepal_width: 4.3, petal_length: 6.8, petal_width: 2.5 }));

describe("drift across 3 infer replicas, one stopped halfway", () => {
  it("records PSI over all replicas, fires ModelDriftDetected once and starts exactly one retrain", async () => {
    // One ordinary request per replica loads its baseline; wait until Prometheus scraped every replica's bins (at 0
    // first: a series' first scrape shows 0 so increase() counts everything after it).
    for (const r of replicas) {
      const warm = await fetch(`${r.url}/iris`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }) });
      expect(warm.status).toBe(200);
    }
    await until("every replica scraped", async () => {
      const n = await promQuery('count(count by (instance) (flywheel_drift_bin_observations_total{model="iris"}))');
      return Number(n[0]?.value[1]) === 3 ? true : undefined;
    }, 60_000, 250);
    for (let i = 0; i < 12; i++) {
      if (i === 6) await replicas[2]?.stop(); // scale-in halfway: its counts are already in Prometheus
      const r = await fetch(`${proxyUrl}/iris`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(drifted(20)) });
      expect(r.status).toBe(200);
      await new Promise((res) => setTimeout(res, 300));
    }
    // Every replica took traffic, and the stopped one is gone.
    expect([...served.keys()], JSON.stringify([...served], null, 1)).toHaveLength(3);
    expect(replicas[2]?.child.exitCode !== null || replicas[2]?.child.signalCode !== null).toBe(true);
    const alive = await Promise.all(replicas.slice(0, 2).map(async (r) => exposedNames(await (await fetch(`${r.url}/metrics`)).text()).has("flywheel_drift_bin_observations_total")));
    expect(alive).toEqual([true, true]);

    // Prometheus sums the replicas' bins: more values than any one replica saw, PSI above the threshold.
    const psi = await until("recorded PSI above 0.2", async () => {
      const res = await promQuery(`max by (model, version) (${RECORDED.psi(WINDOW)}{model="iris"})`);
      return res.length && Number(res[0]?.value[1]) > 0.2 ? res : undefined;
    }, 120_000, 500);
    expect(psi[0]?.metric).toMatchObject({ model: "iris", version: "1" });
    const total = await promQuery(`sum(${RECORDED.observations(WINDOW)}{model="iris", feature="petal_length"})`);
    expect(Number(total[0]?.value[1])).toBeGreaterThan(100);
    // Three replicas reported bins; the stopped one's series went stale when its scrapes failed, its counts stay.
    const reported = await promQuery('count(count by (instance) (max_over_time(flywheel_drift_bin_observations_total{model="iris"}[5m])))');
    expect(Number(reported[0]?.value[1])).toBe(3);
    const live = await promQuery('count(count by (instance) (flywheel_drift_bin_observations_total{model="iris"}))');
    expect(Number(live[0]?.value[1])).toBe(2);

    const firing = await until("alert.firing", async () => (await events("dev.flywheel.alert.firing")).find((e) => e.data.alertname === "ModelDriftDetected"), 90_000, 500);
    expect(firing.data).toMatchObject({ labels: { alertname: "ModelDriftDetected", model: "iris", version: "1" } });
    await until("retrain started", async () => (await events("dev.flywheel.retrain.decided")).find((e) => e.data.decision === "started"), 30_000, 500);
    // Repeated notifications (group interval 1 s) are deduplicated: exactly one retrain.
    await new Promise((r) => setTimeout(r, 5000));
    const retrains = (await events("dev.flywheel.training.requested")).filter((e) => (e.data.trigger as { reason?: string } | undefined)?.reason === "drift");
    expect(retrains).toHaveLength(1);
  }, 300_000);
});
