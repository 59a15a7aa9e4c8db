// Chart helpers: nice ticks, visible single values, min/max downsampling that keeps spikes and ends, progress thinning
// that keeps every metric's whole run, % done and ETA.
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { downsample, extent, ticks } from "../../../pages/chart.tsx";
import { readProgress, thin } from "../../../pages/progress.ts";
import { etaOf, progressSeries } from "../../../pages/training/job.tsx";
import type { JobRecord } from "../../../platform/ports.ts";

describe("chart helpers", () => {
  it("puts ticks on round numbers inside the range", () => {
    expect(ticks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(ticks(3, 297, 6)).toEqual([50, 100, 150, 200, 250]);
  });

  it("gives a single value an honest axis instead of -1..1 around nothing", () => {
    expect(extent([0.97])).toEqual([0, 1]);
    expect(extent([42])).toEqual([37.8, 46.2]);
  });

  it("downsamples 100k points to at most 400, keeping the first, the last and a spike", () => {
    const pts = Array.from({ length: 100_000 }, (_, i) => ({ x: i, y: i === 54_321 ? 99 : Math.sin(i / 1000) }));
    const d = downsample(pts);
    expect(d.length).toBeLessThanOrEqual(402);
    expect(d[0]).toEqual(pts[0]);
    expect(d.at(-1)).toEqual(pts.at(-1));
    expect(d.some((p) => p.y === 99)).toBe(true);
  });

  it("thins long progress per metric without dropping the early steps", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "progress-"));
    const lines = Array.from({ length: 30_000 }, (_, i) => JSON.stringify({ step: Math.floor(i / 2), metric: i % 2 ? "accuracy" : "loss", value: i % 2 ? i / 30_000 : 1 / (i + 1), time: i }));
    await writeFile(path.join(dir, "progress.jsonl"), lines.join("\n") + "\n{\"step\": 15000, \"met");
    const pts = await readProgress(dir);
    expect(pts.length).toBeLessThanOrEqual(5000);
    const loss = pts.filter((p) => p.metric === "loss").map((p) => p.step);
    expect(Math.min(...loss)).toBe(0);
    expect(Math.max(...loss)).toBe(14_999);
    expect(thin(pts, 100).filter((p) => p.metric === "accuracy").length).toBeLessThanOrEqual(52);
  });

  it("puts accuracy on its own axis next to loss, and computes % done and ETA from the pace", () => {
    const pts = [1, 2, 3, 4].flatMap((s) => [{ step: s, metric: "loss", value: 1 / s, time: s * 1000 }, { step: s, metric: "accuracy", value: s / 5, time: s * 1000 }]);
    expect(progressSeries(pts).map((s) => [s.name, s.right])).toEqual([["loss", false], ["accuracy", true]]);
    const job = { state: "running", spec: { params: { epochs: "10" } } } as unknown as JobRecord;
    expect(etaOf(job, pts)).toEqual({ done: 4, total: 10, percent: 40, etaSeconds: 6 });
  });
});
