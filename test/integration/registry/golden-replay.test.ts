// The recorded MLflow 2.17.2 transcript replayed against a fresh embedded platform (auth on): every step matches except
// the documented deviations, which answer exactly as listed; no message carries raw SQL.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../../support/platform.ts";
import { describe as show, loadGolden, replay, type StepResult } from "../../support/mlflow-replay.ts";
import { DEVIATIONS } from "./golden-deviations.ts";

let platform: TestPlatform;
let results: StepResult[];

beforeAll(async () => {
  platform = await startTestPlatform();
  results = await replay(platform.url, { token: platform.token, ignoreMessages: true });
}, 120_000);
afterAll(async () => platform.stop());

it("the transcript has 323 steps and every deviation names one of them", () => {
  const names = new Set(loadGolden().map((s) => s.name));
  expect(names.size).toBe(323);
  expect(DEVIATIONS.filter((d) => !names.has(d.step)).map((d) => d.step)).toEqual([]);
});

it("every step that is not a documented deviation matches the recorded MLflow answer", () => {
  const deviating = new Set(DEVIATIONS.map((d) => d.step));
  const failed = results.filter((r) => !deviating.has(r.step.name) && r.diffs.length > 0);
  expect(failed.map(show)).toEqual([]);
  expect(results.filter((r) => r.diffs.length === 0).length).toBe(323 - DEVIATIONS.length);
});

it("each deviation answers in MLflow's JSON error shape with the listed status and error_code", () => {
  const wrong = DEVIATIONS.flatMap((d) => {
    const r = results.find((x) => x.step.name === d.step);
    const body = r?.answer.json;
    const code = body && typeof body === "object" && !Array.isArray(body) ? body.error_code : undefined;
    const message = body && typeof body === "object" && !Array.isArray(body) ? body.message : undefined;
    const ok = r?.answer.status === d.status && code === d.errorCode && typeof message === "string" && message.length > 0;
    return ok ? [] : [`${d.step}: got ${String(r?.answer.status)} ${r?.answer.text.slice(0, 200) ?? ""}`];
  });
  expect(wrong).toEqual([]);
});

it("no answer carries raw SQL or a server path (MLflow's messages do)", () => {
  const leaky = results.filter((r) => /sqlite3|\[SQL:|sqlalche\.me|Errno/.test(r.answer.text)).map((r) => `${r.step.name}: ${r.answer.text.slice(0, 200)}`);
  expect(leaky).toEqual([]);
});
