// Knative mode's deployment traffic in Chromium: the ui function (its production entry, Seldon backend on the fake API
// server, real PostgreSQL) reads real Prometheus, which scrapes an exporter of infer's own per-candidate metrics with
// known counts: a single model, an A/B experiment per arm, and a running canary's progress; and the notes when
// Prometheus is not configured or does not answer.
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { Counter, Histogram, Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateCanaryStore } from "../../../functions/deploy-model/canary-store.ts";
import { CANDIDATE_DURATION_METRIC, CANDIDATE_REQUESTS_METRIC, createCandidateMetrics } from "../../../functions/infer/candidates.ts";
import { ServingKubeClient } from "../../../platform/serving/kube.ts";
import { SeldonServingBackend } from "../../../platform/serving/seldon/backend.ts";
import type { DeploymentSpec } from "../../../platform/specs/deployment.ts";
import { openPostgresState } from "../../../platform/state/index.ts";
import { PrometheusHttpClient } from "../../../platform/telemetry/prometheus.ts";
import { startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";
import { startFakeMlflow, type FakeMlflow } from "../../support/fake-mlflow/index.ts";
import { startEventSink, startFunction, type EventSink, type FunctionProcess } from "../../support/function-process.ts";
import { until } from "../../support/platform.ts";
import { startPostgres, type TestPostgres } from "../../support/postgres.ts";
import { openBrowser, type Browser } from "../../support/ui-browser.ts";
import { freePort, startPrometheus, type Server } from "../drift/servers.ts";
import { AxeReport, runAxe } from "./axe.ts";

const TOKEN = "knative-traffic-admin-token-0123";
const NS = "flywheel";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-knative-traffic-"));

/** What infer counted, per deployment and answering candidate: successes, server errors, bad inputs, one latency. */
const TRAFFIC = [
  { deployment: "iris", candidate: "iris", success: 45, error: 5, rejected: 7, seconds: 0.02 },
  { deployment: "iris-ab", candidate: "iris-a", success: 40, error: 0, rejected: 0, seconds: 0.02 },
  { deployment: "iris-ab", candidate: "iris-b", success: 18, error: 2, rejected: 1, seconds: 0.2 },
  { deployment: "iris-canary", candidate: "iris-canary-v2", success: 60, error: 0, rejected: 0, seconds: 0.02 },
  { deployment: "iris-canary", candidate: "iris-canary-v3", success: 25, error: 0, rejected: 0, seconds: 0.02 },
] as const;
const CANARY_DECIDE_AFTER = 100;

let pgc: TestPostgres | undefined;
let mlflow: FakeMlflow | undefined;
let kube: FakeKube | undefined;
let sink: EventSink | undefined;
let exporter: http.Server | undefined;
let prom: Server | undefined;
let uis: { withProm: FunctionProcess; unreachable: FunctionProcess; without: FunctionProcess } | undefined;
let browser: Browser | undefined;
/** axe-core on each Knative traffic state (with figures, a canary, Prometheus down, not configured). */
const axe = new AxeReport();

function deploymentObjects(): Record<string, unknown>[] {
  const seldon = new SeldonServingBackend({ client: new ServingKubeClient(async () => Promise.reject(new Error("render only")), NS) });
  const resolved = { model: "iris", version: "3", storageUri: "s3://models/iris/3", flavors: ["onnx"] };
  const specs: DeploymentSpec[] = [
    { kind: "model", name: "iris", model: "iris" },
    { kind: "experiment", name: "iris-ab", resourceType: "model", candidates: [{ name: "iris-a", weight: 70 }, { name: "iris-b", weight: 30 }] },
    { kind: "experiment", name: "iris-canary", resourceType: "model", default: "iris-canary-v2", candidates: [{ name: "iris-canary-v2", weight: 90 }, { name: "iris-canary-v3", weight: 10 }] },
  ];
  return specs.flatMap((s) => seldon.render(s, { revision: "r1", models: { iris: resolved } }));
}

beforeAll(async () => {
  const registry = new Registry();
  const metrics = createCandidateMetrics(registry);
  const requests = registry.getSingleMetric(CANDIDATE_REQUESTS_METRIC);
  const duration = registry.getSingleMetric(CANDIDATE_DURATION_METRIC);
  // Every series exists at 0 before the first scrape: increase() then counts all of the requests recorded later.
  for (const t of TRAFFIC) {
    for (const outcome of ["success", "error", "rejected"]) if (requests instanceof Counter) requests.inc({ deployment: t.deployment, candidate: t.candidate, outcome }, 0);
    if (duration instanceof Histogram) duration.zero({ deployment: t.deployment, candidate: t.candidate });
  }
  exporter = http.createServer((_req, res) => {
    void registry.metrics().then((body) => res.writeHead(200, { "content-type": registry.contentType }).end(body));
  });
  await new Promise<void>((r) => exporter?.listen(0, "127.0.0.1", r));
  const addr = exporter.address();
  const target = `127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  const rules = path.join(tmp, "rules.yml");
  fs.writeFileSync(rules, "groups: []\n");
  [pgc, mlflow, kube, sink, prom] = await Promise.all([startPostgres(), startFakeMlflow(), startFakeKube({ namespace: NS }), startEventSink(), startPrometheus(tmp, { target, rules, interval: "1s" })]);
  for (const o of deploymentObjects()) kube.create(o);
  const dbUrl = await pgc.createDatabase("traffic");
  const state = await openPostgresState(dbUrl);
  await new StateCanaryStore(state).put({
    name: "iris-canary",
    model: "iris",
    backend: "seldon",
    stable: { deployment: "iris-canary-v2", version: "2" },
    candidate: { deployment: "iris-canary-v3", version: "3" },
    percent: 10,
    startedAt: Date.now() - 60_000,
    revision: "r1",
    cause: { id: "e1" },
    policy: { strategy: "canary", canaryPercent: 10, decideAfterRequests: CANARY_DECIDE_AFTER, decideAfterMinutes: 60, maxErrorRateIncrease: 0.01, maxLatencyRatio: 1.5 },
  });
  await state.close();
  const kubeconfig = path.join(tmp, "kubeconfig");
  fs.writeFileSync(kubeconfig, kube.kubeconfigYaml);
  const env = {
    FLYWHEEL_DATABASE_URL: dbUrl,
    K_SINK: sink.url,
    MLFLOW_TRACKING_URI: mlflow.url,
    FLYWHEEL_AUTH_TOKEN: TOKEN,
    FLYWHEEL_SESSION_KEY: "a-session-key-every-ui-replica-shares-0123",
    FLYWHEEL_SERVING_BACKEND: "seldon",
    FLYWHEEL_TRAINING_BACKEND: "kubernetes",
    FLYWHEEL_NAMESPACE: NS,
    KUBECONFIG: kubeconfig,
  };
  const [withProm, unreachable, without] = await Promise.all([
    startFunction("ui", { ...env, FLYWHEEL_PROMETHEUS_URL: prom.url }),
    startFunction("ui", { ...env, FLYWHEEL_PROMETHEUS_URL: `http://127.0.0.1:${await freePort()}` }),
    startFunction("ui", env),
  ]);
  uis = { withProm, unreachable, without };
  browser = await openBrowser({ javaScript: true });
  // A fresh process renders its first pages slowly on a loaded machine (modules load on first use): warm each up here,
  // and give navigations a generous hang limit.
  browser.page.setDefaultTimeout(60_000);
  await Promise.all(
    [withProm, unreachable, without].map(async (ui) => {
      for (const pathname of ["/login", "/deployments/iris"]) await (await fetch(new URL(pathname, ui.url), { headers: { authorization: `Bearer ${TOKEN}` } })).arrayBuffer();
    }),
  );

  // Record the known traffic once Prometheus holds the zeros, then wait until it has scraped all of it.
  const client = new PrometheusHttpClient({ url: prom.url });
  await until("zero series scraped", async () => ((await client.query(`count(${CANDIDATE_REQUESTS_METRIC})`))[0]?.value === TRAFFIC.length * 3 || undefined), 30_000, 200);
  await new Promise((r) => setTimeout(r, 2_100)); // two more scrapes of the zeros: increase() starts from them
  for (const t of TRAFFIC) {
    for (let i = 0; i < t.success; i++) metrics.record(t.deployment, t.candidate, "success", t.seconds);
    for (let i = 0; i < t.error; i++) metrics.record(t.deployment, t.candidate, "error", t.seconds);
    for (let i = 0; i < t.rejected; i++) metrics.record(t.deployment, t.candidate, "rejected", t.seconds);
  }
  const total = TRAFFIC.reduce((s, t) => s + t.success + t.error + t.rejected, 0);
  await until("traffic scraped", async () => ((await client.query(`sum(${CANDIDATE_REQUESTS_METRIC})`))[0]?.value === total || undefined), 30_000, 200);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (uis) await Promise.all(Object.values(uis).map((p) => p.stop()));
  await Promise.all([prom?.stop(), sink?.close(), mlflow?.close(), kube?.close(), new Promise((r) => (exporter ? exporter.close(r) : r(undefined)))]);
  await pgc?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const need = <T,>(v: T | undefined): T => {
  if (v === undefined) throw new Error("not started");
  return v;
};

async function open(ui: FunctionProcess, pathname: string): Promise<Browser["page"]> {
  const page = need(browser).page;
  await page.goto(new URL(`/login?next=${encodeURIComponent(pathname)}`, ui.url).toString());
  if (await page.locator("#token").count()) {
    await page.fill("#token", TOKEN);
    await page.click("button[type=submit]");
  }
  await page.waitForURL((u) => u.pathname === pathname);
  return page;
}

interface Row {
  readonly weight: string;
  readonly requests: number;
  readonly errorRate: number;
  readonly p50: number;
  readonly p99: number;
}

async function rows(page: Browser["page"]): Promise<Record<string, Row>> {
  const out: Record<string, Row> = {};
  for (const tr of await page.locator("#traffic-table tbody tr").all()) {
    const cells = await tr.locator("td").allTextContents();
    const n = (s: string | undefined): number => Number.parseFloat((s ?? "").replace(/[^0-9.]/g, ""));
    out[(await tr.getAttribute("data-candidate")) ?? ""] = { weight: cells[1] ?? "", requests: n(cells[2]), errorRate: n(cells[4]), p50: n(cells[5]), p99: n(cells[6]) };
  }
  return out;
}

/**
 * Counts are Prometheus's increase(): exact over the recorded requests, stretched by at most the last scrape interval
 * over the sampled span (extrapolation to the query time), so within 25% above. Bad inputs (rejected) are not counted.
 * The quantiles interpolate inside one bucket: (0.01, 0.025] s and (0.1, 0.25] s.
 */
function expectRow(r: Row | undefined, t: (typeof TRAFFIC)[number]): void {
  const n = t.success + t.error;
  expect(r?.requests).toBeGreaterThanOrEqual(n);
  expect(r?.requests).toBeLessThanOrEqual(Math.ceil(n * 1.25));
  // Errors and requests are each stretched by up to 25% on their own (their series start at different scrapes), so
  // the rate lies within a factor 1.25 either way (plus the page's rounding to 0.1).
  const rate = (100 * t.error) / n;
  expect(r?.errorRate).toBeGreaterThanOrEqual(rate / 1.25 - 0.05);
  expect(r?.errorRate).toBeLessThanOrEqual(rate * 1.25 + 0.05);
  const [lo, hi] = t.seconds === 0.02 ? [10, 25] : [100, 250];
  expect(r?.p50).toBeCloseTo(lo + (hi - lo) * 0.5, 0);
  expect(r?.p99).toBeCloseTo(lo + (hi - lo) * 0.99, 0);
}

describe("Knative deployment pages show traffic from Prometheus", () => {
  it("a single model: requests, error rate and p50/p99 over every replica", async () => {
    const page = await open(need(uis).withProm, "/deployments/iris");
    const r = await rows(page);
    expect(Object.keys(r)).toEqual(["iris"]);
    expectRow(r.iris, TRAFFIC[0]);
    expect(r.iris?.weight).toBe("100%");
    expect(await page.locator("#traffic").textContent()).toContain("From Prometheus: every infer replica's requests over the last hour");
    axe.add("knative-model", await runAxe(page));
    await need(browser).shot("knative-traffic-01-model");
  }, 60_000);

  it("an A/B experiment: each arm with its weight, requests, error rate and latencies", async () => {
    const page = await open(need(uis).withProm, "/deployments/iris-ab");
    const r = await rows(page);
    expect(Object.keys(r).sort()).toEqual(["iris-a", "iris-b"]);
    expectRow(r["iris-a"], TRAFFIC[1]);
    expectRow(r["iris-b"], TRAFFIC[2]);
    expect([r["iris-a"]?.weight, r["iris-b"]?.weight]).toEqual(["70%", "30%"]);
    await need(browser).shot("knative-traffic-02-ab");
  }, 60_000);

  it("a running canary: progress toward its decision from the candidate's requests since it started, both arms badged", async () => {
    const page = await open(need(uis).withProm, "/deployments/iris-canary");
    const r = await rows(page);
    expectRow(r["iris-canary-v2"], TRAFFIC[3]);
    expectRow(r["iris-canary-v3"], TRAFFIC[4]);
    const label = (await page.locator('label[for="canary-progress"]').textContent()) ?? "";
    const m = /Progress to the decision: (\d+)% \((\d+)\/100 requests, (\d+\.\d)\/60 min\)/.exec(label);
    expect(m, label).not.toBeNull();
    const candidateReqs = r["iris-canary-v3"]?.requests ?? -1;
    expect(Number(m?.[2])).toBe(candidateReqs);
    expect(Number(m?.[1])).toBe(Math.round((candidateReqs / CANARY_DECIDE_AFTER) * 100));
    expect(await page.locator("#canary").textContent()).toContain("v3 gets 10% of traffic next to v2");
    expect(await page.locator('tr[data-candidate="iris-canary-v3"] .badge').textContent()).toBe("candidate");
    expect(await page.locator('tr[data-candidate="iris-canary-v2"] .badge').textContent()).toBe("stable");
    axe.add("knative-canary", await runAxe(page));
    await need(browser).shot("knative-traffic-03-canary");
  }, 60_000);

  it("says so when Prometheus is unreachable (the page still answers 200) or not configured", async () => {
    const down = await open(need(uis).unreachable, "/deployments/iris");
    expect(await down.locator("#traffic-failed").textContent()).toContain("could not be read just now");
    expect(await down.locator("#traffic-table").count()).toBe(0);
    const res = await down.request.get(new URL("/deployments/iris-ab", need(uis).unreachable.url).toString());
    expect(res.status()).toBe(200);
    axe.add("knative-unreachable", await runAxe(down));
    await need(browser).shot("knative-traffic-04-unreachable");
    const off = await open(need(uis).without, "/deployments/iris");
    expect(await off.locator("#traffic-unavailable").textContent()).toContain("Set FLYWHEEL_PROMETHEUS_URL");
    expect(await off.locator("#traffic-table").count()).toBe(0);
    axe.add("knative-unconfigured", await runAxe(off));
    axe.write("axe-knative-traffic.json");
    expect(axe.blocking()).toEqual([]);
    expect(axe.totals()).toEqual({ critical: 0, serious: 0, moderate: 0, minor: 0 });
  }, 60_000);
});
