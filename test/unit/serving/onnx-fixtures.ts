// Tiny ONNX graphs for serving tests, encoded with the iris example's protobuf writer (no Python needed).
import { ProtoWriter } from "../../../examples/iris-node/protobuf.ts";

const ELEM = { float: 1, int64: 7 } as const;
type Elem = keyof typeof ELEM;

export interface GraphSpec {
  readonly inputs: readonly { name: string; type: Elem; dims: readonly (number | string)[] }[];
  readonly outputs: readonly { name: string; type: Elem; dims: readonly (number | string)[] }[];
  readonly nodes: readonly { op: string; inputs: readonly string[]; outputs: readonly string[]; ints?: Record<string, number> }[];
  readonly initializers?: readonly { name: string; dims: readonly number[]; values: readonly number[] }[];
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
        t.int(2, ELEM.float);
        t.string(8, init.name);
        const raw = new Uint8Array(init.values.length * 4);
        init.values.forEach((v, i) => new DataView(raw.buffer).setFloat32(i * 4, v, true));
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
