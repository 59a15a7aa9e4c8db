// The configured onnxruntime threads and spin-waiting reach the real runtime, for the V2 server's and the evaluator's
// sessions: read back from onnxruntime's own account of each session's options (its verbose log), in a child process.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_PARAMS, run } from "../../../examples/iris-node/train.ts";
import { DEFAULT_ONNX_THREADING, onnxSessionOptions } from "../../../platform/serving/onnx-options.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "onnx-threads-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The options line onnxruntime logs for each session it creates, in order. */
const sessionLines = (stderr: string): string[] => stderr.split("\n").filter((l) => l.includes("TraceSessionOptions"));
const intraPoolSize = (line: string): string | undefined => /intra_op_param:OrtThreadPoolParams \{ thread_pool_size: (\d+)/.exec(line)?.[1];
const spinEntry = (line: string, pool: string): string | undefined => new RegExp(`session\\.${pool}\\.allow_spinning: (\\d)`).exec(line)?.[1];

describe("onnxruntime threading", () => {
  it("maps the config to session options: threads, sequential execution, spin-waiting as config entries", () => {
    expect(DEFAULT_ONNX_THREADING).toEqual({ intraOpThreads: 1, spinning: false });
    expect(onnxSessionOptions({ intraOpThreads: 4, spinning: true })).toEqual({
      intraOpNumThreads: 4,
      interOpNumThreads: 1,
      executionMode: "sequential",
      extra: { session: { intra_op: { allow_spinning: "1" }, inter_op: { allow_spinning: "1" } } },
    });
  });

  it("the V2 server's and the evaluator's sessions run with the configured threads and spin-waiting", async () => {
    const out = run({ ...DEFAULT_PARAMS, epochs: 5 }, tmp).outDir;
    const { stderr } = await promisify(execFile)(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "onnx-threads-child.ts"), out], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    const [before, after = ""] = stderr.split("=== evaluator");
    const served = sessionLines(before ?? "")[0] ?? "";
    const evaluated = sessionLines(after)[0] ?? "";
    expect(served, "onnxruntime logged no session options for the V2 server's session").not.toBe("");
    expect(evaluated, "onnxruntime logged no session options for the evaluator's session").not.toBe("");
    expect([intraPoolSize(served), spinEntry(served, "intra_op"), spinEntry(served, "inter_op")]).toEqual(["3", "0", "0"]);
    expect([intraPoolSize(evaluated), spinEntry(evaluated, "intra_op"), spinEntry(evaluated, "inter_op")]).toEqual(["2", "1", "1"]);
  });
});
