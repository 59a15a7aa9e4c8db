// An Iris-shaped ONNX model that loads and answers nothing: its graph reshapes the [batch, 4] input to [3, -1], which
// onnxruntime refuses at run time for a single row (4 values). A real server failure (HTTP 500) for canary tests.
import { ProtoWriter } from "../../examples/iris-node/protobuf.ts";
import { ONNX_NAMES, ONNX_OPSET, ONNX_IR_VERSION } from "../../examples/iris-node/onnx.ts";

const FLOAT = 1;
const INT64 = 7;

function tensor(w: ProtoWriter, name: string, type: number, dims: readonly number[], raw: Uint8Array): void {
  for (const d of dims) w.int(1, d);
  w.int(2, type);
  w.string(8, name);
  w.bytes(9, raw);
}

function valueInfo(w: ProtoWriter, name: string, type: number, dims: readonly (number | string)[]): void {
  w.string(1, name);
  w.message(2, (t) =>
    t.message(1, (tt) => {
      tt.int(1, type);
      tt.message(2, (shape) => {
        for (const d of dims) shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

function node(w: ProtoWriter, op: string, inputs: readonly string[], outputs: readonly string[], ints: Readonly<Record<string, number>> = {}): void {
  for (const i of inputs) w.string(1, i);
  for (const o of outputs) w.string(2, o);
  w.string(3, `${op}_${outputs[0] ?? ""}`);
  w.string(4, op);
  for (const [k, v] of Object.entries(ints)) {
    w.message(5, (a) => {
      a.string(1, k);
      a.int(3, v);
      a.int(20, 2);
    });
  }
}

export function faultyIrisOnnx(): Uint8Array {
  const shape = new Uint8Array(16);
  const sv = new DataView(shape.buffer);
  sv.setBigInt64(0, 3n, true);
  sv.setBigInt64(8, -1n, true);
  const weights = new Uint8Array(4 * 3 * 4);
  const bias = new Uint8Array(3 * 4);
  const w = new ProtoWriter();
  w.int(1, ONNX_IR_VERSION);
  w.string(2, "flywheel-test-faulty");
  w.message(7, (g) => {
    g.message(1, (n) => node(n, "Reshape", [ONNX_NAMES.input, "shape"], ["reshaped"]));
    g.message(1, (n) => node(n, "Gemm", ["reshaped", "W", "B"], ["logits"]));
    g.message(1, (n) => node(n, "Softmax", ["logits"], [ONNX_NAMES.probabilities], { axis: 1 }));
    g.message(1, (n) => node(n, "ArgMax", [ONNX_NAMES.probabilities], [ONNX_NAMES.label], { axis: 1, keepdims: 0 }));
    g.string(2, "faulty");
    g.message(5, (t) => tensor(t, "shape", INT64, [2], shape));
    g.message(5, (t) => tensor(t, "W", FLOAT, [4, 3], weights));
    g.message(5, (t) => tensor(t, "B", FLOAT, [3], bias));
    g.message(11, (v) => valueInfo(v, ONNX_NAMES.input, FLOAT, ["batch", 4]));
    g.message(12, (v) => valueInfo(v, ONNX_NAMES.probabilities, FLOAT, ["batch", 3]));
    g.message(12, (v) => valueInfo(v, ONNX_NAMES.label, INT64, ["batch"]));
  });
  w.message(8, (o) => {
    o.string(1, "");
    o.int(2, ONNX_OPSET);
  });
  return w.finish();
}
