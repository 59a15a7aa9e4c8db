// E2E, component level: real Prometheus scrapes a small server exposing a DriftMonitor's registry; real Alertmanager
// posts to alertmanagerRoutes with the bearer token from credentials_file (and, on a second route, a wrong token that
// must get 401); the alert becomes alert.firing -> retrain-on-drift -> exactly one training.requested.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { Registry } from "prom-client";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRetrainDeps, MemoryRetrainStore, retrainOnDrift } from "../../../functions/retrain-on-drift/index.ts";
import { DriftCounters, DriftMonitor, fanOut, parseBaseline } from "../../../platform/drift/index.ts";
import { eventType, parseEventAs } from "../../../platform/events/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { alertmanagerRoutes } from "../../../triggers/alertmanager/index.ts";
import { FakeRegistry, IRIS_SPEC, MemoryBus } from "../../unit/retrain/fakes.ts";
import { startAlertmanager, startPrometheus, testRules, type Server } from "./servers.ts";

const log = createLogger("silent");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-drift-am-"));
const token = `am-${randomUUID()}`;
const bus = new MemoryBus();
const registry = new FakeRegistry();
const metrics = new Registry();
const loadBaseline = async () =>
  parseBaseline({
    version: 1,
    features: { petal_length: { type: "numeric", edges: [1, 2, 3, 4, 5, 6, 7], counts: [50, 10, 20, 30, 30, 10] } },
    predictions: { type: "categorical", frequencies: { setosa: 1, versicolor: 1, virginica: 1 } },
  });
const inProcess = new DriftMonitor({ registry: metrics, loadBaseline, minSamples: 50, scoreIntervalMs: 200 });
// What infer runs: the live view and the counters Prometheus' PSI rules read.
const monitor = Object.assign(fanOut(inProcess, new DriftCounters({ registry: metrics, loadBaseline })), { close: () => inProcess.close() });
const hooks: { status: number; at: number; ms: number }[] = [];
let server: ServerType;
let prom: Server | undefined;
let am: Server | undefined;

beforeAll(async () => {
  registry.addVersion("iris", IRIS_SPEC);
  const deps = createRetrainDeps({ bus, registry, store: new MemoryRetrainStore(), log });
  bus.subscribers.push(async (e) => {
    if (e.type === eventType("alert.firing") || e.type === eventType("alert.resolved")) await retrainOnDrift(e, deps);
  });
  const app = new Hono();
  app.get("/metrics", async (c) => c.text(await metrics.metrics(), 200, { "content-type": metrics.contentType }));
  app.use("/hooks/*", async (c, next) => {
    const at = Date.now();
    await next();
    hooks.push({ status: c.res.status, at, ms: Date.now() - at });
  });
  app.route("/hooks/alertmanager", alertmanagerRoutes({ bus, token, log }));
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve());
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const tokenFile = path.join(dir, "token");
  fs.writeFileSync(tokenFile, token, { mode: 0o600 });
  const wrongFile = path.join(dir, "wrong-token");
  fs.writeFileSync(wrongFile, "not-the-token", { mode: 0o600 });
  fs.mkdirSync(path.join(dir, "am"));
  fs.mkdirSync(path.join(dir, "prom"));
  am = await startAlertmanager(path.join(dir, "am"), { webhook: `${base}/hooks/alertmanager`, tokenFile, groupWait: "1s" });
  // A second receiver with a wrong token, on a route that continues to the real one.
  const amFile = path.join(dir, "am", "alertmanager.yml");
  const cfg = YAML.parse(fs.readFileSync(amFile, "utf8")) as { route: Record<string, unknown>; receivers: { name: string; webhook_configs: { http_config: { authorization: { credentials_file: string } } }[] }[] };
  const wrong = structuredClone(cfg.receivers[0]);
  if (!wrong) throw new Error("no receiver in the shipped config");
  wrong.name = "flywheel-wrong-token";
  for (const w of wrong.webhook_configs) w.http_config.authorization.credentials_file = wrongFile;
  cfg.receivers.push(wrong);
  cfg.route.routes = [{ receiver: "flywheel-wrong-token", continue: true }, { receiver: "flywheel" }];
  fs.writeFileSync(amFile, YAML.stringify(cfg));
  await fetch(`${am.url}/-/reload`, { method: "POST" });
  prom = await startPrometheus(path.join(dir, "prom"), { target: new URL(base).host, alertmanager: new URL(am.url).host, rules: testRules(dir, "1s"), interval: "1s" });
}, 60_000);

afterAll(async () => {
  monitor.close();
  await prom?.stop();
  await am?.stop();
  await new Promise<void>((r) => server.close(() => r()));
  fs.rmSync(dir, { recursive: true, force: true });
});

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 45_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; alertmanager: ${am?.output().slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("DriftMonitor -> Prometheus -> Alertmanager -> webhook -> retrain-on-drift", () => {
  it("a drifting feature fires ModelDriftDetected and requests exactly one training; a wrong token gets 401", async () => {
    // Everything at petal_length 6.5 (baseline: 6% there), labelled virginica only.
    for (let i = 0; i < 10; i++) monitor.observe({ model: "iris", version: "1", features: { petal_length: Array(10).fill(6.5) }, predictions: Array(10).fill("virginica") });

    const requested = await until("training.requested", () => bus.ofType(eventType("training.requested"))[0]);
    const firing = bus.ofType(eventType("alert.firing"))[0];
    expect(firing && parseEventAs("alert.firing", firing).data).toMatchObject({ alertname: "ModelDriftDetected", labels: { model: "iris", version: "1" } });
    expect(parseEventAs("training.requested", requested).data).toMatchObject({ model: "iris", command: IRIS_SPEC.command, trigger: { reason: "drift", eventId: firing?.id } });

    await until("the wrong-token delivery", () => hooks.some((h) => h.status === 401));
    const ok = hooks.filter((h) => h.status === 200);
    expect(ok.length).toBeGreaterThan(0);
    // Alertmanager does not retry a 401; the good receiver's repeats collapse on the event id.
    await new Promise((r) => setTimeout(r, 2500));
    expect(bus.ofType(eventType("training.requested"))).toHaveLength(1);
    // The bus hands alert.firing to retrain-on-drift inside the webhook request, so its duration bounds the latency.
    console.log(`drift component e2e: webhook request (alert -> training.requested) ${JSON.stringify(ok.map((h) => h.ms))} ms`);
  }, 90_000);
});
