// A YAML alias bomb gets 400 everywhere YAML is read (issue 17 item 9): one shared parse caps alias expansion.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseSpecs } from "../../../functions/infer/deployments-api.ts";
import { ValidationError } from "../../../platform/errors.ts";
import { createLogger } from "../../../platform/log.ts";
import { jobsApi } from "../../../platform/training/jobs-api.ts";
import { LocalTrainingBackend } from "../../../platform/training/local/backend.ts";
import { parseYaml, parseYamlDocuments, YamlError } from "../../../platform/yaml.ts";
import { parseTrainingSpecText } from "../../../platform/training/spec.ts";

const BOMB = [
  `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`,
  ...["b", "c", "d", "e", "f", "g", "h", "i"].map((k, i) => `${k}: &${k} [${Array(9).fill(`*${"abcdefghi"[i]}`).join(",")}]`),
  "model: iris",
  "command: [/bin/true]",
].join("\n");

describe("YAML alias bombs", () => {
  it("the shared parse refuses them with a YamlError", () => {
    expect(() => parseYaml(BOMB)).toThrow(YamlError);
    expect(() => parseYamlDocuments(`---\n${BOMB}\n`)).toThrow(/alias/);
    expect(() => parseYaml("[".repeat(5_000))).toThrow(YamlError);
    expect(() => parseYaml("a: 1\na: 2")).toThrow(YamlError);
    expect(parseYaml("a: &x 1\nb: *x")).toEqual({ a: 1, b: 1 });
  });

  it("POST /api/v1/jobs answers 400, not 500", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-yaml-"));
    const backend = new LocalTrainingBackend({ dataDir: dir, workdir: dir, env: {} });
    const emitted: unknown[] = [];
    const app = jobsApi({ backend, bus: { emit: async (e) => void emitted.push(e) }, log: createLogger("silent") });
    try {
      const res = await app.request("/", { method: "POST", headers: { "content-type": "application/yaml" }, body: BOMB });
      expect(res.status).toBe(400);
      expect(JSON.stringify(await res.json())).toMatch(/YAML/);
      expect(emitted).toEqual([]);
    } finally {
      await backend.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("training and deployment specs both give a ValidationError", () => {
    expect(() => parseTrainingSpecText(BOMB, "application/yaml")).toThrow(ValidationError);
    expect(() => parseSpecs(BOMB)).toThrow(ValidationError);
  });
});
