// What an outside signal (ping, Kafka record) asks for: a model, spec overrides and the trigger lineage.
import { ValidationError } from "../../platform/errors.ts";
import type { AnyCloudEvent, TriggerRef } from "../../platform/events/index.ts";
import { trainingSpecFields } from "../../platform/specs/training.ts";

/** retrain-on-drift turns an intent into training.requested: the champion's spec, these overrides on top. */
export interface TrainingIntent {
  readonly model: string;
  /** Partial training spec; params and env merge into the champion's, every other field replaces. */
  readonly overrides: Readonly<Record<string, unknown>>;
  readonly trigger: TriggerRef;
}

/** Check override keys only; values are validated once merged (so defaults never overwrite the champion's fields). */
export function checkOverrides(overrides: Record<string, unknown>, field: string): void {
  const unknown = Object.keys(overrides).filter((k) => !trainingSpecFields().has(k) || k === "model");
  if (unknown.length) {
    throw new ValidationError(unknown.map((k) => ({ field: `${field}.${k}`, message: k === "model" ? "set model at the top level" : "is not a training spec field" })));
  }
}

/** The event's data as a JSON value, whatever form the SDK left it in (object, string, bytes, data_base64). */
export function jsonData(ce: AnyCloudEvent): unknown {
  const d: unknown = ce.data;
  try {
    if (typeof d === "string") return JSON.parse(d);
    if (d instanceof Uint8Array) return JSON.parse(Buffer.from(d).toString("utf8"));
    if (d !== undefined && d !== null) return d;
    if (typeof ce.data_base64 === "string") return JSON.parse(Buffer.from(ce.data_base64, "base64").toString("utf8"));
  } catch {
    throw new ValidationError([{ field: "data", message: "is not valid JSON" }]);
  }
  throw new ValidationError([{ field: "data", message: "is required" }]);
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
