// One-pass check of the common V2 request shape (id and inputs of name/shape/datatype/data only), before zod: it accepts
// a strict subset of what InferRequestSchema accepts, with the same meaning, and leaves every other body (and every
// error message) to the schema. Hand-written, not ajv: this module is imported by every function, and ajv's import and
// schema compilation would land on each cold start.
import { isV2Datatype, type InferRequest, type RequestInput } from "./types.ts";

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function isPlainShape(v: unknown): v is number[] {
  if (!Array.isArray(v)) return false;
  for (const d of v) if (!Number.isSafeInteger(d) || d < 0) return false;
  return true;
}

function isPlainInput(v: unknown): v is RequestInput {
  if (!isRecord(v)) return false;
  let keys = 0;
  for (const k in v) {
    if (k !== "name" && k !== "shape" && k !== "datatype" && k !== "data") return false;
    keys++;
  }
  const name = v["name"];
  return keys === 4 && typeof name === "string" && name.length > 0 && isPlainShape(v["shape"]) && isV2Datatype(v["datatype"]) && Array.isArray(v["data"]);
}

/**
 * The body itself when it has the common shape (then InferRequestSchema would accept it and give an equal value);
 * undefined otherwise, and the caller validates with the schema. No copy: the body was just parsed and is not shared.
 */
export function plainInferRequest(body: unknown): InferRequest | undefined {
  if (!isRecord(body)) return undefined;
  for (const k in body) if (k !== "id" && k !== "inputs") return undefined;
  const { id, inputs } = body;
  if (id !== undefined && typeof id !== "string") return undefined;
  if (!Array.isArray(inputs) || inputs.length === 0) return undefined;
  const plain: RequestInput[] = [];
  for (const input of inputs) {
    if (!isPlainInput(input)) return undefined;
    plain.push(input);
  }
  return id === undefined ? { inputs: plain } : { id, inputs: plain };
}
