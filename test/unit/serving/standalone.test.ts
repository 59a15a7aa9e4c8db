// The standalone V2 runtime's arguments (KServe runtime convention) and its refusal of a model dir without ONNX.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../platform/errors.ts";
import { onnxFileIn, parseStandaloneArgs } from "../../../platform/serving/local/standalone.ts";

describe("standalone V2 runtime", () => {
  it("parses --model_name, --model_dir, --http_port with defaults", () => {
    expect(parseStandaloneArgs(["--model_name", "iris", "--model_dir", "/mnt/models", "--http_port", "0"])).toEqual({ modelName: "iris", modelDir: "/mnt/models", modelVersion: "1", port: 0, host: "127.0.0.1" });
  });

  it.each([
    [["--model_dir", "/m"], "--model_name"],
    [["--model_name", "iris"], "--model_dir"],
    [["--model_name", "iris", "--model_dir", "/m", "--http_port", "70000"], "--http_port"],
  ])("refuses %j naming %s", (argv, field) => {
    const err = ((): unknown => {
      try {
        parseStandaloneArgs(argv);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect(err instanceof ValidationError ? err.issues.map((i) => i.field) : []).toEqual([field]);
  });

  it("finds the onnx flavor's file, and refuses a model without one", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-sa-"));
    try {
      fs.mkdirSync(path.join(dir, "model"));
      fs.writeFileSync(path.join(dir, "model", "MLmodel"), "flavors:\n  onnx: {data: m.onnx}\n");
      fs.writeFileSync(path.join(dir, "model", "m.onnx"), "x");
      expect(onnxFileIn(dir)).toBe(path.join(dir, "model", "m.onnx"));
      fs.rmSync(path.join(dir, "model", "m.onnx"));
      expect(() => onnxFileIn(dir)).toThrow(/no ONNX model/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
