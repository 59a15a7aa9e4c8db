// Tiny ONNX graphs for serving tests, encoded with the iris example's protobuf writer (no Python needed).
import { ProtoWriter } from "../../../examples/iris-node/protobuf.ts";

const ELEM = { float: 1, int64: 7, string: 8 } as const;
type Elem = keyof typeof ELEM;

export interface GraphSpec {
  readonly inputs: readonly { name: string; type: Elem; dims: readonly (number | string)[] }[];
  readonly outputs: readonly { name: string; type: Elem; dims: readonly (number | string)[] }[];
  readonly nodes: readonly { op: string; inputs: readonly string[]; outputs: readonly string[]; ints?: Record<string, number> }[];
  /** Float unless `type` says int64. */
  readonly initializers?: readonly { name: string; dims: readonly number[]; values: readonly number[]; type?: "float" | "int64" }[];
}

function valueInfo(w: ProtoWriter, v: GraphSpec["inputs"][number]): void {
  w.string(1, v.name);
  w.message(2, (t) =>
    t.message(1, (tt) => {
      tt.int(1, ELEM[v.type]);
      tt.message(2, (s) => {
        for (const d of v.dims) s.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

export function onnxModel(g: GraphSpec): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, 7);
  w.string(2, "flywheel-tests");
  w.message(7, (graph) => {
    g.nodes.forEach((n, i) =>
      graph.message(1, (nw) => {
        for (const x of n.inputs) nw.string(1, x);
        for (const x of n.outputs) nw.string(2, x);
        nw.string(3, `n${i}`);
        nw.string(4, n.op);
        for (const [k, v] of Object.entries(n.ints ?? {})) nw.message(5, (a) => a.string(1, k).int(3, v).int(20, 2));
      }),
    );
    graph.string(2, "g");
    for (const init of g.initializers ?? []) {
      graph.message(5, (t) => {
        for (const d of init.dims) t.int(1, d);
        const int64 = init.type === "int64";
        t.int(2, int64 ? ELEM.int64 : ELEM.float);
        t.string(8, init.name);
        const raw = new Uint8Array(init.values.length * (int64 ? 8 : 4));
        const view = new DataView(raw.buffer);
        init.values.forEach((v, i) => (int64 ? view.setBigInt64(i * 8, BigInt(v), true) : view.setFloat32(i * 4, v, true)));
        t.bytes(9, raw);
      });
    }
    for (const i of g.inputs) graph.message(11, (v) => valueInfo(v, i));
    for (const o of g.outputs) graph.message(12, (v) => valueInfo(v, o));
  });
  w.message(8, (o) => o.string(1, "").int(2, 13));
  return w.finish();
}

/** y = x * factor, float [-1, width]; input and output names configurable. */
export function scaleModel(factor: number, width = 2, input = "x", output = "y"): Uint8Array {
  return onnxModel({
    inputs: [{ name: input, type: "float", dims: ["batch", width] }],
    outputs: [{ name: output, type: "float", dims: ["batch", width] }],
    nodes: [{ op: "Mul", inputs: [input, "factor"], outputs: [output] }],
    initializers: [{ name: "factor", dims: [1], values: [factor] }],
  });
}

/** sum = a + b, float [-1, width]. */
export function addModel(width = 2): Uint8Array {
  return onnxModel({
    inputs: [
      { name: "a", type: "float", dims: ["batch", width] },
      { name: "b", type: "float", dims: ["batch", width] },
    ],
    outputs: [{ name: "sum", type: "float", dims: ["batch", width] }],
    nodes: [{ op: "Add", inputs: ["a", "b"], outputs: ["sum"] }],
  });
}

/**
 * A model as slow as asked: x (float [1, 1]) broadcast to n×n, multiplied by itself `matmuls` times (2n³ flops each,
 * on one thread), summed to y [1, 1]. Every product depends on x, so onnxruntime cannot fold it at load.
 */
export function slowModel(n: number, matmuls: number): Uint8Array {
  const chain = Array.from({ length: matmuls }, (_, i) => ({ op: "MatMul", inputs: [i === 0 ? "a" : `m${i - 1}`, "a"], outputs: [`m${i}`] }));
  return onnxModel({
    inputs: [{ name: "x", type: "float", dims: [1, 1] }],
    outputs: [{ name: "y", type: "float", dims: [1, 1] }],
    nodes: [{ op: "Expand", inputs: ["x", "square"], outputs: ["a"] }, ...chain, { op: "ReduceSum", inputs: [`m${matmuls - 1}`], outputs: ["y"] }],
    initializers: [{ name: "square", dims: [2], values: [n, n], type: "int64" }],
  });
}

/** y = x reshaped to [2, 2]: x of [-1, 2] passes the V2 checks, and onnxruntime refuses any x but two rows at run. */
export function reshapeModel(): Uint8Array {
  return onnxModel({
    inputs: [{ name: "x", type: "float", dims: ["batch", 2] }],
    outputs: [{ name: "y", type: "float", dims: [2, 2] }],
    nodes: [{ op: "Reshape", inputs: ["x", "to"], outputs: ["y"] }],
    initializers: [{ name: "to", dims: [2], values: [2, 2], type: "int64" }],
  });
}

/** out = words (strings, [-1]): BYTES in and out. */
export function stringIdentityModel(): Uint8Array {
  return onnxModel({
    inputs: [{ name: "words", type: "string", dims: ["n"] }],
    outputs: [{ name: "out", type: "string", dims: ["n"] }],
    nodes: [{ op: "Identity", inputs: ["words"], outputs: ["out"] }],
  });
}
