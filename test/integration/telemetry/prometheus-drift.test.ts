// Knative mode's drift view: PrometheusHttpClient.queryRange against a real Prometheus (Debian `prometheus`), and the
// recorded PSI series grouped into one chart point per time per served version.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prometheusDrift } from "../../../platform/drift/prometheus-view.ts";
import { PrometheusHttpClient, type RangeSeries, type VectorSample } from "../../../platform/telemetry/prometheus.ts";
import { startPrometheus, type Server } from "../../e2e/drift/servers.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-prom-range-"));
let prom: Server | undefined;
beforeAll(async () => {
  const rules = path.join(dir, "empty-rules.yml");
  fs.writeFileSync(rules, "groups: []\n");
  prom = await startPrometheus(dir, { target: "127.0.0.1:9", alertmanager: "127.0.0.1:9", rules, interval: "1s" });
}, 60_000);
afterAll(async () => {
  await prom?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("PrometheusHttpClient", () => {
  it("reads a range as series of [time, value] points, oldest first, and an instant vector", async () => {
    const client = new PrometheusHttpClient({ url: prom?.url ?? "" });
    const end = Date.now();
    const [series, ...rest] = await client.queryRange('label_replace(vector(0.25), "feature", "x", "", "")', end - 60_000, end, 15);
    expect(rest).toEqual([]);
    expect(series?.labels).toEqual({ feature: "x" });
    expect(series?.points.length).toBeGreaterThanOrEqual(4);
    expect(series?.points.every((p) => p.value === 0.25)).toBe(true);
    const times = series?.points.map((p) => p.at) ?? [];
    expect(times).toEqual([...times].sort((a, b) => a - b));
    await expect(client.queryRange("sum(", end - 60_000, end, 15)).rejects.toThrow(/HTTP 400/);
    // The instant query shares the request path.
    expect(await client.query("vector(2)")).toEqual([{ labels: {}, value: 2 }]);
  });
});

describe("prometheusDrift", () => {
  it("asks for the recorded PSI and the window's rows, and builds one point per time per served version", async () => {
    const asked: string[] = [];
    const s = (feature: string, version: string, values: number[]): RangeSeries => ({ labels: { model: "iris", version, feature }, points: values.map((value, i) => ({ at: 1000 * (i + 1), value })) });
    const prometheus = {
      queryRange: async (expr: string): Promise<RangeSeries[]> => {
        asked.push(expr);
        return [s("petal_length", "2", [0.1, 0.4]), s("sepal_width", "2", [0.05, 0.06]), s("petal_length", "9", [1])];
      },
      query: async (expr: string): Promise<VectorSample[]> => {
        asked.push(expr);
        return [{ labels: { model: "iris", version: "2" }, value: 812.4 }];
      },
    };
    const [v, ...more] = await prometheusDrift({ prometheus, now: () => 10_000 }, [{ model: "iris", version: "2" }, { model: "iris", version: "3" }]);
    expect(more).toEqual([]);
    expect(asked).toEqual(["flywheel:model_drift_psi:30m", "max by (model, version) (flywheel:drift_observations:increase30m)"]);
    expect(v).toEqual({
      model: "iris",
      version: "2",
      samples: 812,
      scores: { petal_length: 0.4, sepal_width: 0.06 },
      history: [{ at: 1000, scores: { petal_length: 0.1, sepal_width: 0.05 } }, { at: 2000, scores: { petal_length: 0.4, sepal_width: 0.06 } }],
    });
  });
});
