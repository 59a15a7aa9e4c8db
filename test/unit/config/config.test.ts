// Config: defaults, overrides, and refusals that name the variable.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../platform/config/index.ts";
import { ConfigError } from "../../../platform/errors.ts";

describe("parseConfig", () => {
  it("has the embedded defaults of surface.md", () => {
    const c = parseConfig({});
    expect(c.port).toBe(8080);
    expect(c.dataDir).toMatch(/\.flywheel$/);
    expect(c.auth.devMode).toBe(false);
    expect(c.training.backend).toBe("local");
    expect(c.serving.backend).toBe("local");
    expect(c.kafka).toBeUndefined();
    expect(Object.isFrozen(c.auth)).toBe(true);
  });

  it("applies CLI overrides over the environment", () => {
    const c = parseConfig({ PORT: "9000", FLYWHEEL_DATA_DIR: "/tmp/a" }, { port: 9100, dataDir: "/tmp/b" });
    expect(c.port).toBe(9100);
    expect(c.dataDir).toBe("/tmp/b");
  });

  it("binds dev mode to loopback and refuses a public bind", () => {
    expect(parseConfig({ FLYWHEEL_DEV_MODE: "1" }).host).toBe("127.0.0.1");
    expect(() => parseConfig({ FLYWHEEL_DEV_MODE: "1", HOST: "0.0.0.0" })).toThrow(/FLYWHEEL_DEV_MODE/);
  });

  const bad: [string, Record<string, string>, string][] = [
    ["port out of range", { PORT: "70000" }, "PORT"],
    ["short token", { FLYWHEEL_AUTH_TOKEN: "short" }, "FLYWHEEL_AUTH_TOKEN"],
    ["unknown backend", { FLYWHEEL_SERVING_BACKEND: "triton" }, "FLYWHEEL_SERVING_BACKEND"],
    ["bad url", { MLFLOW_TRACKING_URI: "not a url" }, "MLFLOW_TRACKING_URI"],
  ];
  it.each(bad)("%s", (_name, env, variable) => {
    try {
      parseConfig(env);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems.join("\n")).toContain(variable);
      return;
    }
    throw new Error("expected ConfigError");
  });

  it("parses FLYWHEEL_ARTIFACT_ROOTS (absolute, :-separated) and refuses a relative root", () => {
    expect(parseConfig({}).registry.artifactRoots).toEqual([]);
    expect(parseConfig({ FLYWHEEL_ARTIFACT_ROOTS: "/srv/a:/srv/b/" }).registry.artifactRoots).toEqual(["/srv/a", "/srv/b"]);
    expect(() => parseConfig({ FLYWHEEL_ARTIFACT_ROOTS: "/srv/a:relative" })).toThrow(ConfigError);
  });

  it("parses FLYWHEEL_TRAINING_CGROUP (auto, off, an absolute path) and refuses anything else naming it", () => {
    expect(parseConfig({}).training.cgroup).toEqual({ mode: "auto" });
    expect(parseConfig({ FLYWHEEL_TRAINING_CGROUP: "off" }).training.cgroup).toEqual({ mode: "off" });
    expect(parseConfig({ FLYWHEEL_TRAINING_CGROUP: "/sys/fs/cgroup/jobs/" }).training.cgroup).toEqual({ mode: "path", path: "/sys/fs/cgroup/jobs" });
    expect(() => parseConfig({ FLYWHEEL_TRAINING_CGROUP: "cgroup" })).toThrow(/FLYWHEEL_TRAINING_CGROUP/);
  });

  it("caps infer rows per request at 10,000 by default and refuses a non-positive or non-integer FLYWHEEL_INFER_MAX_ROWS", () => {
    expect(parseConfig({}).infer.maxRows).toBe(10_000);
    expect(parseConfig({ FLYWHEEL_INFER_MAX_ROWS: "500" }).infer.maxRows).toBe(500);
    for (const bad of ["0", "-3", "1.5", "lots"]) expect(() => parseConfig({ FLYWHEEL_INFER_MAX_ROWS: bad })).toThrow(/FLYWHEEL_INFER_MAX_ROWS/);
  });

  it("runs onnxruntime on one thread without spin-waiting by default; FLYWHEEL_ONNX_THREADS and FLYWHEEL_ONNX_SPINNING change it", () => {
    expect(parseConfig({}).serving.onnx).toEqual({ intraOpThreads: 1, spinning: false });
    expect(parseConfig({ FLYWHEEL_ONNX_THREADS: "4", FLYWHEEL_ONNX_SPINNING: "true" }).serving.onnx).toEqual({ intraOpThreads: 4, spinning: true });
    for (const bad of ["0", "1.5", "many", "1000"]) expect(() => parseConfig({ FLYWHEEL_ONNX_THREADS: bad })).toThrow(/FLYWHEEL_ONNX_THREADS/);
    expect(() => parseConfig({ FLYWHEEL_ONNX_SPINNING: "sometimes" })).toThrow(/FLYWHEEL_ONNX_SPINNING/);
  });

  it("runs models on the event loop by default; FLYWHEEL_ONNX_WORKERS sets worker threads per model", () => {
    expect(parseConfig({}).serving.onnxWorkers).toBe(0);
    expect(parseConfig({ FLYWHEEL_ONNX_WORKERS: "2" }).serving.onnxWorkers).toBe(2);
    for (const bad of ["-1", "1.5", "on", "65"]) expect(() => parseConfig({ FLYWHEEL_ONNX_WORKERS: bad })).toThrow(/FLYWHEEL_ONNX_WORKERS/);
  });

  it("parses Kafka brokers and the OIDC role map", () => {
    const c = parseConfig({
      FLYWHEEL_KAFKA_BROKERS: "a:9092, b:9092",
      FLYWHEEL_OIDC_ISSUER: "http://127.0.0.1:5556/dex",
      FLYWHEEL_OIDC_CLIENT_ID: "flywheel",
      FLYWHEEL_OIDC_ROLE_MAP: "ml-admins=mlops-engineer, scientists=data-scientist",
    });
    expect(c.kafka?.brokers).toEqual(["a:9092", "b:9092"]);
    expect(c.auth.oidc?.roleMap).toEqual({ "ml-admins": "mlops-engineer", scientists: "data-scientist" });
  });

  it("marks the inference log shared only when FLYWHEEL_INFERENCE_LOG_DIR is given (a per-pod default holds no labels)", () => {
    const dflt = parseConfig({ FLYWHEEL_DATA_DIR: "/tmp/fw" });
    expect(dflt.inferenceLog).toMatchObject({ dir: "/tmp/fw/inference-log", shared: undefined, windowDatasets: undefined });
    const knative = parseConfig({ FLYWHEEL_INFERENCE_LOG_DIR: "/var/lib/log", FLYWHEEL_WINDOW_DATASETS_DIR: "/artifacts/datasets" });
    expect(knative.inferenceLog).toMatchObject({ dir: "/var/lib/log", shared: "/var/lib/log", windowDatasets: "/artifacts/datasets" });
  });

  it("keeps 10 window datasets per model by default; 0 turns pruning off; anything else not a count is refused by name", () => {
    expect(parseConfig({}).inferenceLog.windowDatasetsKeep).toBe(10);
    expect(parseConfig({ FLYWHEEL_WINDOW_DATASETS_KEEP: "0" }).inferenceLog.windowDatasetsKeep).toBe(0);
    for (const bad of ["-1", "2.5", "many"]) expect(() => parseConfig({ FLYWHEEL_WINDOW_DATASETS_KEEP: bad })).toThrow(/FLYWHEEL_WINDOW_DATASETS_KEEP/);
  });
});
