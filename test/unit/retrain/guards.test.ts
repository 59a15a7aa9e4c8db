// The retrain guards, table-driven: in flight, cooldown, daily cap, disabled, stale in-flight records.
import { describe, expect, it } from "vitest";
import { checkGuards, DAY_MS } from "../../../functions/retrain-on-drift/guards.ts";
import type { TrainingRecord } from "../../../functions/retrain-on-drift/store.ts";
import { RetrainPolicySchema } from "../../../platform/policies/retrain.ts";

const NOW = Date.parse("2026-11-29T12:00:00Z");
const MIN = 60_000;
const policy = (over: Record<string, unknown> = {}) => RetrainPolicySchema.parse({ maxInFlight: 1, cooldownMinutes: 60, dailyCap: 3, ...over });

let n = 0;
const t = (over: Partial<TrainingRecord>): TrainingRecord => ({
  trainingEventId: `t${++n}`,
  model: "iris",
  reason: "drift",
  causeEventId: `c${n}`,
  requestedAt: NOW - 10 * MIN,
  staleAt: NOW + 60 * MIN,
  ...over,
});

describe("checkGuards", () => {
  it.each([
    { name: "nothing before", p: policy(), ts: [], want: "ok" },
    { name: "disabled", p: policy({ enabled: false }), ts: [], want: "disabled" },
    { name: "one drift retrain running", p: policy(), ts: [t({})], want: "in-flight" },
    { name: "a scheduled training running also counts", p: policy(), ts: [t({ reason: "schedule" })], want: "in-flight" },
    { name: "two allowed in flight", p: policy({ maxInFlight: 2 }), ts: [t({ reason: "schedule" })], want: "ok" },
    { name: "running but stale (lost outcome), ended at staleAt inside cooldown", p: policy(), ts: [t({ requestedAt: NOW - 3 * 60 * MIN, staleAt: NOW - 5 * MIN })], want: "cooldown" },
    { name: "stale long ago", p: policy(), ts: [t({ requestedAt: NOW - 5 * 60 * MIN, staleAt: NOW - 2 * 60 * MIN })], want: "ok" },
    { name: "finished 30 min ago, cooldown 60", p: policy(), ts: [t({ finishedAt: NOW - 30 * MIN, outcome: "succeeded" })], want: "cooldown" },
    { name: "finished 61 min ago, cooldown 60", p: policy(), ts: [t({ requestedAt: NOW - 90 * MIN, finishedAt: NOW - 61 * MIN, outcome: "failed" })], want: "ok" },
    { name: "cooldown 0", p: policy({ cooldownMinutes: 0 }), ts: [t({ finishedAt: NOW - 1, outcome: "succeeded" })], want: "ok" },
    { name: "a finished scheduled training starts no cooldown", p: policy(), ts: [t({ reason: "schedule", finishedAt: NOW - MIN, outcome: "succeeded" })], want: "ok" },
    {
      name: "three drift retrains in 24 h",
      p: policy({ cooldownMinutes: 0 }),
      ts: [1, 2, 3].map((h) => t({ requestedAt: NOW - h * 60 * MIN, finishedAt: NOW - h * 60 * MIN + MIN, outcome: "succeeded" })),
      want: "daily-cap",
    },
    {
      name: "three, but one older than 24 h",
      p: policy({ cooldownMinutes: 0 }),
      ts: [t({ requestedAt: NOW - DAY_MS - MIN, finishedAt: NOW - DAY_MS, outcome: "succeeded" }), ...[1, 2].map((h) => t({ requestedAt: NOW - h * 60 * MIN, finishedAt: NOW - h * 60 * MIN + MIN, outcome: "succeeded" }))],
      want: "ok",
    },
    { name: "daily cap 0 means never", p: policy({ dailyCap: 0 }), ts: [], want: "daily-cap" },
  ])("$name -> $want", ({ p, ts, want }) => {
    const v = checkGuards(p, ts, NOW);
    expect(v.ok ? "ok" : v.reason).toBe(want);
    if (!v.ok) expect(v.message.length).toBeGreaterThan(10);
  });

  it("the cooldown message says until when", () => {
    const v = checkGuards(policy(), [t({ finishedAt: NOW - 30 * MIN, outcome: "succeeded" })], NOW);
    expect(v.ok ? "" : v.message).toContain("2026-11-29T12:30:00.000Z");
  });
});
