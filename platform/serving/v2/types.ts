// Open Inference Protocol (V2 REST) request/response shapes, per interfaces.md §3, with zod validation of requests.
import * as z from "zod";

export const V2_DATATYPES = [
  "BOOL",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "FP16",
  "FP32",
  "FP64",
  "BYTES",
] as const;
export type V2Datatype = (typeof V2_DATATYPES)[number];
export const isV2Datatype = (v: unknown): v is V2Datatype => V2_DATATYPES.includes(v as V2Datatype);

const parameters = z.record(z.string(), z.unknown());

/** Nested arrays of numbers, booleans or strings (row-major), or a flat list. */
export type TensorData = readonly unknown[];

export const RequestInputSchema = z
  .object({
    name: z.string().min(1),
    shape: z.array(z.number().int().min(0)),
    datatype: z.enum(V2_DATATYPES),
    parameters: parameters.optional(),
    data: z.array(z.unknown()),
  })
  .strict();

export const RequestOutputSchema = z.object({ name: z.string().min(1), parameters: parameters.optional() }).strict();

export const InferRequestSchema = z
  .object({
    id: z.string().optional(),
    parameters: parameters.optional(),
    inputs: z.array(RequestInputSchema).min(1),
    outputs: z.array(RequestOutputSchema).optional(),
  })
  .strict();

export type RequestInput = z.output<typeof RequestInputSchema>;
export type InferRequest = z.output<typeof InferRequestSchema>;

export interface ResponseOutput {
  name: string;
  shape: number[];
  datatype: V2Datatype;
  parameters?: Record<string, unknown>;
  data: unknown[];
}

export interface InferResponse {
  model_name: string;
  model_version?: string;
  id: string;
  parameters?: Record<string, unknown>;
  outputs: ResponseOutput[];
}

export interface TensorMetadata {
  name: string;
  datatype: V2Datatype;
  /** -1 = variable dimension */
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
  parameters?: Record<string, unknown>;
}

export interface ServerMetadata {
  name: string;
  version: string;
  extensions: string[];
}
