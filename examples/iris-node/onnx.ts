// Encodes the trained model as an ONNX ModelProto (opset 13): input -> Gemm -> Softmax -> probabilities, ArgMax -> label.
import type { LinearModel } from "./model.ts";
import { ProtoWriter } from "./protobuf.ts";

/** onnx.proto TensorProto.DataType values used here. */
const FLOAT = 1;
const INT64 = 7;
/** onnx.proto AttributeProto.AttributeType.INT */
const ATTR_INT = 2;
/** IR version 7 is the one that introduced opset 13 (ONNX 1.8). */
const IR_VERSION = 7;
const OPSET = 13;
/** Written into the MLmodel's metadata: the model file's own format versions. */
export const ONNX_IR_VERSION = IR_VERSION;
export const ONNX_OPSET = OPSET;

export const ONNX_NAMES = { input: "input", probabilities: "probabilities", label: "label" } as const;

export interface OnnxExportOptions {
  readonly producerVersion?: string;
  /** Stored as metadata_props (labels as a JSON array), so a server can map class indices without MLmodel. */
  readonly metadata?: Readonly<Record<string, string>>;
}

type Dim = number | string;

function valueInfo(w: ProtoWriter, name: string, elemType: number, dims: readonly Dim[]): void {
  w.string(1, name); // ValueInfoProto.name
  w.message(2, (type) =>
    // TypeProto.tensor_type
    type.message(1, (tensor) => {
      tensor.int(1, elemType);
      tensor.message(2, (shape) => {
        for (const d of dims) shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

function floatTensor(w: ProtoWriter, name: string, dims: readonly number[], values: readonly number[]): void {
  for (const d of dims) w.int(1, d); // TensorProto.dims
  w.int(2, FLOAT); // data_type
  w.string(8, name); // name
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true)); // raw_data is little-endian
  w.bytes(9, raw);
}

function node(
  w: ProtoWriter,
  opType: string,
  name: string,
  inputs: readonly string[],
  outputs: readonly string[],
  intAttrs: Readonly<Record<string, number>> = {},
): void {
  for (const i of inputs) w.string(1, i);
  for (const o of outputs) w.string(2, o);
  w.string(3, name);
  w.string(4, opType);
  for (const [attr, value] of Object.entries(intAttrs)) {
    w.message(5, (a) => {
      a.string(1, attr);
      a.int(3, value);
      a.int(20, ATTR_INT);
    });
  }
}

/** Serialize a LinearModel as ONNX bytes. */
export function toOnnx(model: LinearModel, opts: OnnxExportOptions = {}): Uint8Array {
  const features = model.weights.length;
  const classes = model.bias.length;
  const w = new ProtoWriter();
  w.int(1, IR_VERSION);
  w.string(2, "flywheel-iris-node");
  w.string(3, opts.producerVersion ?? "1.0.0");
  w.string(4, "dev.flywheel");
  w.int(5, 1); // model_version
  w.string(6, "Multinomial logistic regression on the Iris data set");
  w.message(7, (g) => {
    g.message(1, (n) => node(n, "Gemm", "linear", [ONNX_NAMES.input, "W", "B"], ["logits"]));
    g.message(1, (n) => node(n, "Softmax", "softmax", ["logits"], [ONNX_NAMES.probabilities], { axis: 1 }));
    g.message(1, (n) => node(n, "ArgMax", "argmax", [ONNX_NAMES.probabilities], [ONNX_NAMES.label], { axis: 1, keepdims: 0 }));
    g.string(2, "iris_logreg");
    g.message(5, (t) => floatTensor(t, "W", [features, classes], model.weights.flat()));
    g.message(5, (t) => floatTensor(t, "B", [classes], model.bias));
    g.message(11, (v) => valueInfo(v, ONNX_NAMES.input, FLOAT, ["batch", features]));
    g.message(12, (v) => valueInfo(v, ONNX_NAMES.probabilities, FLOAT, ["batch", classes]));
    g.message(12, (v) => valueInfo(v, ONNX_NAMES.label, INT64, ["batch"]));
  });
  w.message(8, (o) => {
    o.string(1, "");
    o.int(2, OPSET);
  });
  for (const [key, value] of Object.entries(opts.metadata ?? {})) {
    w.message(14, (p) => {
      p.string(1, key);
      p.string(2, value);
    });
  }
  return w.finish();
}
