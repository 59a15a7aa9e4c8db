// Pipeline executor semantics with fake step models: references, tensorMap, inner/outer/any joins, output joins.
import { describe, expect, it } from "vitest";
import { UpstreamError } from "../../../platform/errors.ts";
import { PipelineDeploymentSchema, type PipelineDeployment } from "../../../platform/specs/deployment.ts";
import { PipelineExecutor } from "../../../platform/serving/local/pipeline.ts";
import type { InferRequest, InferResponse } from "../../../platform/serving/v2/types.ts";

const delays: Record<string, number> = { slow: 80, fast: 1 };
const calls: { model: string; inputs: string[] }[] = [];

/** Fake models: "boom" fails; any other adds its index+1 to every value of every input, outputting "<input>_out". */
async function runModel(model: string, req: InferRequest): Promise<InferResponse> {
  calls.push({ model, inputs: req.inputs.map((i) => i.name) });
  await new Promise((r) => setTimeout(r, delays[model] ?? 0));
  if (model === "boom") throw new UpstreamError("boom failed", false);
  const add = model === "slow" ? 100 : model === "fast" ? 10 : 1;
  return {
    model_name: model,
    id: req.id ?? "",
    outputs: req.inputs.map((i) => ({ name: `${i.name}_out`, shape: i.shape, datatype: "FP32", data: i.data.map((v) => Number(v) + add) })),
  };
}

const exec = (spec: unknown): PipelineExecutor =>
  new PipelineExecutor(PipelineDeploymentSchema.parse(spec) as PipelineDeployment, { runModel, modelMetadata: () => undefined, ready: () => true });
const req: InferRequest = { id: "r1", inputs: [{ name: "x", shape: [1, 2], datatype: "FP32", data: [1, 2] }] };

describe("pipeline executor", () => {
  it("feeds the pipeline inputs to a step without inputs and renames through tensorMap", async () => {
    const p = exec({
      kind: "pipeline",
      name: "chain",
      steps: [{ name: "a" }, { name: "b", inputs: ["a.outputs.x_out"], tensorMap: { "a.outputs.x_out": "input" } }],
      output: { steps: ["b"] },
    });
    calls.length = 0;
    const { response } = await p.infer(req, {});
    expect(response).toEqual({ model_name: "chain", id: "r1", outputs: [{ name: "input_out", shape: [1, 2], datatype: "FP32", data: [3, 4] }] });
    expect(calls).toEqual([
      { model: "a", inputs: ["x"] },
      { model: "b", inputs: ["input"] },
    ]);
  });

  it("resolves bare step names, step inputs and pipeline inputs references", async () => {
    const p = exec({
      kind: "pipeline",
      name: "refs",
      steps: [
        { name: "a", inputs: ["refs.inputs.x"] },
        { name: "b", inputs: ["a", "a.inputs.x"], tensorMap: { "a.inputs.x": "orig" } },
      ],
      output: { steps: ["b"], tensorMap: { "b.outputs.orig_out": "final" } },
    });
    const { response } = await p.infer(req, {});
    expect(response.outputs.map((o) => [o.name, o.data])).toEqual([
      ["x_out_out", [3, 4]],
      ["final", [2, 3]],
    ]);
  });

  it("inner join waits for every input", async () => {
    const p = exec({
      kind: "pipeline",
      name: "inner",
      steps: [{ name: "slow" }, { name: "fast" }, { name: "j", inputs: ["slow.outputs.x_out", "fast.outputs.x_out"], tensorMap: { "slow.outputs.x_out": "s", "fast.outputs.x_out": "f" }, joinType: "inner" }],
      output: { steps: ["j"] },
    });
    const { response } = await p.infer(req, {});
    expect(response.outputs.map((o) => [o.name, o.data])).toEqual([
      ["s_out", [102, 103]],
      ["f_out", [12, 13]],
    ]);
  });

  it("inner join fails when an input fails", async () => {
    const p = exec({
      kind: "pipeline",
      name: "innerfail",
      steps: [{ name: "boom" }, { name: "fast" }, { name: "j", inputs: ["boom", "fast"], joinType: "inner" }],
      output: { steps: ["j"] },
    });
    await expect(p.infer(req, {})).rejects.toThrow(/boom failed/);
  });

  it("outer join takes what arrived within joinWindowMs", async () => {
    const p = exec({
      kind: "pipeline",
      name: "outer",
      steps: [{ name: "slow" }, { name: "fast" }, { name: "boom" }, { name: "j", inputs: ["slow", "fast", "boom"], tensorMap: { "slow.outputs.x_out": "s", "fast.outputs.x_out": "f" }, joinType: "outer", joinWindowMs: 30 }],
      output: { steps: ["j"] },
    });
    const { response } = await p.infer(req, {});
    expect(response.outputs.map((o) => o.name)).toEqual(["f_out"]);
    const wide = exec({
      kind: "pipeline",
      name: "outerwide",
      steps: [{ name: "slow" }, { name: "fast" }, { name: "boom" }, { name: "j", inputs: ["slow", "fast", "boom"], tensorMap: { "slow.outputs.x_out": "s", "fast.outputs.x_out": "f" }, joinType: "outer", joinWindowMs: 500 }],
      output: { steps: ["j"] },
    });
    const started = Date.now();
    const { response: all } = await wide.infer(req, {});
    expect(all.outputs.map((o) => o.name)).toEqual(["s_out", "f_out"]);
    expect(Date.now() - started).toBeLessThan(450); // did not wait out the window once every input had settled
  });

  it("any join takes the first input to arrive", async () => {
    const p = exec({
      kind: "pipeline",
      name: "any",
      steps: [{ name: "slow" }, { name: "fast" }, { name: "j", inputs: ["slow.outputs.x_out", "fast.outputs.x_out"], joinType: "any" }],
      output: { steps: ["j"] },
    });
    const { response } = await p.infer(req, {});
    expect(response.outputs).toEqual([{ name: "x_out_out", shape: [1, 2], datatype: "FP32", data: [12, 13] }]);
  });

  it("joins several output steps (stepsJoin any returns the first)", async () => {
    const both = exec({ kind: "pipeline", name: "outs", steps: [{ name: "slow" }, { name: "fast" }], output: { steps: ["slow", "fast"] } });
    expect((await both.infer(req, {})).response.outputs.map((o) => o.data)).toEqual([[101, 102], [11, 12]]);
    const first = exec({ kind: "pipeline", name: "outs2", steps: [{ name: "slow" }, { name: "fast" }], output: { steps: ["slow", "fast"], stepsJoin: "any" } });
    expect((await first.infer(req, {})).response.outputs.map((o) => o.data)).toEqual([[11, 12]]);
  });

  it("fails with 502 naming a missing tensor", async () => {
    const p = exec({ kind: "pipeline", name: "miss", steps: [{ name: "a" }, { name: "b", inputs: ["a.outputs.nope"] }], output: { steps: ["b"] } });
    const err = await p.infer(req, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(String(err)).toMatch(/a has no tensor nope/);
  });
});
