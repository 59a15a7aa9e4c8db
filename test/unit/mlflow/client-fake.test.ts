import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BATCH_LIMITS, MlflowAlreadyExistsError, MlflowClient, MlflowInvalidParameterError, MlflowNotFoundError,
  MlflowPermissionDeniedError, MlflowUnauthenticatedError, MlflowUpstreamError,
} from "../../../platform/mlflow/index.ts";
import { ConflictError, NotFoundError, ValidationError } from "../../../platform/errors.ts";
import { ERRORS, startFakeMlflow, type Fault, type FakeMlflow } from "../../support/fake-mlflow/index.ts";
import { requireTool } from "../../support/require-binary.ts";

let fake: FakeMlflow;
const delays: number[] = [];
const client = (extra: Partial<ConstructorParameters<typeof MlflowClient>[0]> = {}) =>
  new MlflowClient({ trackingUri: fake.url, sleep: async (ms) => void delays.push(ms), ...extra });
const count = (p: string) => fake.requests.filter((r) => r.path === `/api/2.0/${p}`).length;

beforeAll(async () => (fake = await startFakeMlflow()));
afterAll(async () => fake.close());

describe("error mapping (no retry)", () => {
  it.each<[string, Fault, new (...a: never[]) => Error, string]>([
    ["404 RESOURCE_DOES_NOT_EXIST", ERRORS.notFound(), MlflowNotFoundError, "RESOURCE_DOES_NOT_EXIST"],
    ["400 RESOURCE_ALREADY_EXISTS", ERRORS.exists(), MlflowAlreadyExistsError, "RESOURCE_ALREADY_EXISTS"],
    ["400 INVALID_PARAMETER_VALUE", ERRORS.invalid(), MlflowInvalidParameterError, "INVALID_PARAMETER_VALUE"],
    ["401 UNAUTHENTICATED", ERRORS.unauthenticated(), MlflowUnauthenticatedError, "UNAUTHENTICATED"],
    ["403 PERMISSION_DENIED", ERRORS.denied(), MlflowPermissionDeniedError, "PERMISSION_DENIED"],
    ["500 INTERNAL_ERROR", ERRORS.internal(), MlflowUpstreamError, "INTERNAL_ERROR"],
  ])("%s -> typed error, one request", async (_label, fault, cls, code) => {
    const before = count("mlflow/runs/get");
    fake.fail("mlflow/runs/get", fault);
    const err = await client().getRun("abc").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(cls);
    expect(err).toHaveProperty("errorCode", code);
    expect(err).toHaveProperty("httpStatus", fault.status);
    expect(count("mlflow/runs/get") - before).toBe(1);
  });

  it("MLflow errors extend Flywheel's taxonomy", async () => {
    fake.fail("mlflow/experiments/get", ERRORS.notFound());
    expect(await client().getExperiment("5").catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);
    fake.fail("mlflow/experiments/create", ERRORS.exists());
    expect(await client().createExperiment("x").catch((e: unknown) => e)).toBeInstanceOf(ConflictError);
    fake.fail("mlflow/experiments/create", ERRORS.invalid());
    expect(await client().createExperiment("x").catch((e: unknown) => e)).toBeInstanceOf(ValidationError);
  });
});

describe("retries: 429 and 503 and connection errors only, with bounded backoff", () => {
  it("429 then 503 then success: three requests, two backoffs", async () => {
    delays.length = 0;
    const before = count("mlflow/experiments/get");
    fake.fail("mlflow/experiments/get", ERRORS.rateLimited(), ERRORS.unavailable());
    const exp = await client().getExperiment("0");
    expect(exp.name).toBe("Default");
    expect(count("mlflow/experiments/get") - before).toBe(3);
    expect(delays.length).toBe(2);
    expect(delays.every((d) => d > 0 && d <= 5000)).toBe(true);
  });

  it("Retry-After is honoured (capped)", async () => {
    delays.length = 0;
    fake.fail("mlflow/experiments/get", ERRORS.rateLimited("2"), ERRORS.rateLimited("100"));
    await client().getExperiment("0");
    expect(delays).toEqual([2000, 5000]);
  });

  it("gives up after the configured attempts with a retryable UpstreamError", async () => {
    const before = count("mlflow/experiments/get");
    fake.fail("mlflow/experiments/get", ERRORS.unavailable(), ERRORS.unavailable(), ERRORS.unavailable());
    const err = await client({ retry: { attempts: 3 } }).getExperiment("0").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlflowUpstreamError);
    expect(err).toHaveProperty("retryable", true);
    expect(count("mlflow/experiments/get") - before).toBe(3);
  });

  it.each([["500", ERRORS.internal()], ["404", ERRORS.notFound()], ["400", ERRORS.invalid()]])("%s is not retried", async (_l, fault) => {
    const before = count("mlflow/experiments/get");
    fake.fail("mlflow/experiments/get", fault);
    await expect(client().getExperiment("0")).rejects.toBeInstanceOf(Error);
    expect(count("mlflow/experiments/get") - before).toBe(1);
  });

  it("a dropped connection is retried", async () => {
    fake.drop("mlflow/experiments/get-by-name", 2);
    const exp = await client().getExperimentByName("Default");
    expect(exp.experiment_id).toBe("0");
  });

  it("an unreachable server ends in a retryable CONNECTION_ERROR", async () => {
    const c = new MlflowClient({ trackingUri: "http://127.0.0.1:1", retry: { attempts: 2, baseDelayMs: 1 } });
    const err = await c.getExperiment("0").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlflowUpstreamError);
    expect(err).toHaveProperty("errorCode", "CONNECTION_ERROR");
  });
});

describe("request shapes", () => {
  it("log-parameter (not log-param), runs/get with run_id and run_uuid, DELETE alias with a JSON body", async () => {
    const c = client();
    const run = await c.createRun({ experimentId: "0" });
    await c.logParam(run.info.run_id, "lr", "0.1");
    expect(count("mlflow/runs/log-parameter")).toBeGreaterThan(0);
    expect(count("mlflow/runs/log-param")).toBe(0);
    await c.getRun(run.info.run_id);
    const get = fake.requests.filter((r) => r.path === "/api/2.0/mlflow/runs/get").at(-1);
    expect(get?.query.get("run_id")).toBe(run.info.run_id);
    expect(get?.query.get("run_uuid")).toBe(run.info.run_id);
    await c.createRegisteredModel("shape");
    await c.createModelVersion({ name: "shape", source: "s3://b/m" });
    await c.setAlias("shape", "champion", "1");
    await c.deleteAlias("shape", "champion");
    const del = fake.requests.filter((r) => r.method === "DELETE" && r.path === "/api/2.0/mlflow/registered-models/alias").at(-1);
    expect(del?.json).toEqual({ name: "shape", alias: "champion" });
    expect(del?.headers["content-type"]).toBe("application/json");
  });

  it("log-batch is chunked within MLflow's limits and loses nothing", async () => {
    const c = client();
    const run = await c.createRun({ experimentId: "0" });
    const before = fake.requests.length;
    const metrics = Array.from({ length: 2500 }, (_, i) => ({ key: `m${i % 50}`, value: i, timestamp: 1000 + i, step: i }));
    const params = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p${i}`, String(i)]));
    const tags = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`t${i}`, "v"]));
    const n = await c.logBatch(run.info.run_id, { metrics, params, tags });
    const sent = fake.requests.slice(before).filter((r) => r.path === "/api/2.0/mlflow/runs/log-batch");
    expect(sent.length).toBe(n);
    let m = 0, p = 0, t = 0;
    for (const r of sent) {
      const body = r.json;
      const len = (k: string): number => (body && typeof body === "object" && k in body && Array.isArray(Object(body)[k]) ? Object(body)[k].length : 0);
      expect(len("metrics")).toBeLessThanOrEqual(BATCH_LIMITS.metrics);
      expect(len("params")).toBeLessThanOrEqual(BATCH_LIMITS.params);
      expect(len("tags")).toBeLessThanOrEqual(BATCH_LIMITS.tags);
      expect(len("metrics") + len("params") + len("tags")).toBeLessThanOrEqual(BATCH_LIMITS.total);
      m += len("metrics"); p += len("params"); t += len("tags");
    }
    expect([m, p, t]).toEqual([2500, 150, 120]);
    const hist = await c.getMetricHistory(run.info.run_id, "m0");
    expect(hist.length).toBe(50);
  });

  it("pagination helpers follow next_page_token", async () => {
    const c = client();
    for (let i = 0; i < 7; i++) await c.createExperiment(`page-${i}`);
    const names: string[] = [];
    for await (const e of c.iterateExperiments({ filter: "name LIKE 'page-%'", maxResults: 3, orderBy: ["name"] })) names.push(e.name);
    expect(names).toEqual(Array.from({ length: 7 }, (_, i) => `page-${i}`));
    const searches = fake.requests.filter((r) => r.path === "/api/2.0/mlflow/experiments/search" && JSON.stringify(r.json).includes("page-%"));
    expect(searches.length).toBe(3);
  });
});

describe("connection options", () => {
  it("bearer token and basic auth are sent; a wrong credential is UNAUTHENTICATED", async () => {
    const secured = await startFakeMlflow({ requireAuthorization: "Bearer s3cr3t-token" });
    try {
      const ok = new MlflowClient({ trackingUri: secured.url, token: "s3cr3t-token" });
      expect((await ok.getExperiment("0")).name).toBe("Default");
      const bad = new MlflowClient({ trackingUri: secured.url, username: "u", password: "p" });
      await expect(bad.getExperiment("0")).rejects.toBeInstanceOf(MlflowUnauthenticatedError);
      expect(secured.requests.at(-1)?.headers.authorization).toBe(`Basic ${Buffer.from("u:p").toString("base64")}`);
    } finally {
      await secured.close();
    }
  });

  it("https with a custom CA bundle works; without it the TLS error is a connection error", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-ca-"));
    const key = path.join(dir, "key.pem");
    const cert = path.join(dir, "cert.pem");
    execFileSync(requireTool("openssl"), ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
      "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"], { stdio: "ignore" });
    const tls = await startFakeMlflow({ tls: { key: fs.readFileSync(key, "utf8"), cert: fs.readFileSync(cert, "utf8") } });
    try {
      const trusted = new MlflowClient({ trackingUri: tls.url, caBundlePath: cert });
      expect((await trusted.getExperiment("0")).name).toBe("Default");
      const untrusted = new MlflowClient({ trackingUri: tls.url, retry: { attempts: 1 } });
      const err = await untrusted.getExperiment("0").catch((e: unknown) => e);
      expect(err).toHaveProperty("errorCode", "CONNECTION_ERROR");
    } finally {
      await tls.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
