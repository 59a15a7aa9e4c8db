// Spec fuzz: random and malformed training specs never crash; every rejection is a ValidationError naming fields.
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { ValidationError } from "../../../platform/errors.ts";
import { parseTrainingSpec, parseTrainingSpecText } from "../../../platform/training/spec.ts";
import { jobsApi } from "../../../platform/training/jobs-api.ts";
import { createLogger } from "../../../platform/log.ts";
import type { TrainingBackend } from "../../../platform/ports.ts";

/** mulberry32: a tiny seeded PRNG, so a failing case can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIELDS = ["kind", "model", "experiment", "image", "command", "args", "source", "params", "resources", "replicas", "procsPerReplica", "executors", "env", "timeoutSeconds", "dataset", "codeVersion"];

function gen(r: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const str = (): string => {
    const alphabet = ["a", "Z", "0", "-", "_", " ", ".", "/", "é", "\u0000", "{", "'", "\n", "💥"];
    return Array.from({ length: Math.floor(r() * 12) }, () => pick(alphabet)).join("");
  };
  const scalar = (): unknown => pick([() => str(), () => Math.floor(r() * 1e6) - 5e5, () => r() * 10, () => r() < 0.5, () => null, () => undefined, () => NaN, () => -1, () => 0, () => "iris"])();
  const value = (depth: number): unknown => {
    if (depth > 2 || r() < 0.5) return scalar();
    if (r() < 0.5) return Array.from({ length: Math.floor(r() * 4) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, () => [r() < 0.7 ? pick(FIELDS) : str(), value(depth + 1)]));
  };
  // Mostly plausible specs with a few fields broken, sometimes pure junk.
  const good: Record<string, unknown> = { kind: pick(["single", "ddp", "spark"]), model: "iris", command: ["python3", "t.py"] };
  for (let i = Math.floor(r() * 4); i > 0; i--) good[r() < 0.85 ? pick(FIELDS) : str()] = value(0);
  return r() < 0.15 ? value(0) : good;
}

function checkRejection(e: unknown): void {
  expect(e).toBeInstanceOf(ValidationError);
  const issues = e instanceof ValidationError ? e.issues : [];
  expect(issues.length).toBeGreaterThan(0);
  for (const i of issues) {
    expect(typeof i.field).toBe("string");
    expect(i.field.length).toBeGreaterThan(0);
    expect(i.message.length).toBeGreaterThan(0);
  }
}

describe("training spec fuzz", () => {
  it("parses or rejects 3000 random specs with field errors, never anything else", () => {
    let accepted = 0;
    let rejected = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const input = gen(rng(seed));
      try {
        const spec = parseTrainingSpec(input);
        expect(spec.model, `seed ${seed}`).toMatch(/^[a-z0-9-]+$/);
        accepted++;
      } catch (e) {
        checkRejection(e);
        rejected++;
      }
    }
    // The generator must exercise both outcomes, or the test proves nothing.
    expect(accepted).toBeGreaterThan(50);
    expect(rejected).toBeGreaterThan(500);
  });

  it("rejects random text (JSON, YAML, garbage) with field errors", () => {
    for (let seed = 1; seed <= 1500; seed++) {
      const r = rng(seed);
      const spec = gen(r);
      const asText = r() < 0.4 ? JSON.stringify(spec) ?? "" : r() < 0.7 ? (YAML.stringify(spec) ?? "") : String.fromCharCode(...Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 128)));
      const cut = r() < 0.3 ? asText.slice(0, Math.floor(r() * asText.length)) : asText;
      try {
        parseTrainingSpecText(cut, r() < 0.5 ? "application/json" : "application/yaml");
      } catch (e) {
        if (!(e instanceof ValidationError)) throw new Error(`seed ${seed}: ${JSON.stringify(cut)}: ${String(e)}`, { cause: e });
        checkRejection(e);
      }
    }
  });

  it("the API answers 202 or 400 to random bodies, never 5xx", async () => {
    const backend: TrainingBackend = {
      name: "local",
      launch: () => Promise.reject(new Error("unused")),
      get: async () => undefined,
      list: async () => [],
      logs: async function* () {},
      cancel: () => Promise.reject(new Error("unused")),
    };
    let emitted = 0;
    const app = jobsApi({ backend, bus: { emit: async () => void emitted++ }, log: createLogger("silent") });
    const statuses = new Set<number>();
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const res = await app.request("/", { method: "POST", headers: { "content-type": r() < 0.5 ? "application/json" : "application/yaml" }, body: JSON.stringify(gen(r)) ?? "" });
      statuses.add(res.status);
      expect([202, 400]).toContain(res.status);
    }
    expect(statuses).toEqual(new Set([202, 400]));
    expect(emitted).toBeGreaterThan(0);
  });
});
