// Reads a job's progress.jsonl (docs/artifacts.md) from a local artifact directory, tolerating partial last lines.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { downsample } from "./chart.tsx";
import type { ProgressPoint } from "./deps.ts";

const MAX_POINTS = 5000;

/** Points from `<artifactUri>/progress.jsonl` when the URI is a local path or file: URL; [] otherwise or when absent. */
export async function readProgress(artifactUri: string | undefined): Promise<ProgressPoint[]> {
  if (!artifactUri) return [];
  let dir: string;
  if (artifactUri.startsWith("file:")) dir = fileURLToPath(artifactUri);
  else if (path.isAbsolute(artifactUri)) dir = artifactUri;
  else return [];
  let text: string;
  try {
    text = await readFile(path.join(dir, "progress.jsonl"), "utf8");
  } catch {
    return [];
  }
  const points: ProgressPoint[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const p: unknown = JSON.parse(line);
      if (p && typeof p === "object" && "step" in p && "metric" in p && "value" in p && typeof p.step === "number" && typeof p.metric === "string" && typeof p.value === "number") {
        points.push({ step: p.step, metric: p.metric, value: p.value, time: "time" in p && typeof p.time === "number" ? p.time : undefined });
      }
    } catch {
      // A line being written right now: skip it, the next refresh has it.
    }
  }
  return points.length > MAX_POINTS ? thin(points, MAX_POINTS) : points;
}

/** Per metric, min/max buckets over the whole run (first and last step kept): long jobs are thinned, never cut. */
export function thin(points: readonly ProgressPoint[], max: number): ProgressPoint[] {
  const by = new Map<string, ProgressPoint[]>();
  for (const p of points) {
    let list = by.get(p.metric);
    if (!list) by.set(p.metric, (list = []));
    list.push(p);
  }
  const per = Math.max(4, Math.floor(max / Math.max(1, by.size)));
  return [...by.values()].flatMap((list) => {
    const kept = new Set(downsample(list.map((p, i) => ({ x: i, y: p.value })), per).map((q) => q.x));
    return list.filter((_, i) => kept.has(i));
  });
}
