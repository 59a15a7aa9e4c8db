// Lossless structured JSON for stored events: binary data becomes data_base64 (JSON.stringify would mangle bytes).
import { toStructured, type AnyCloudEvent } from "../events/envelope.ts";

export function eventToJson(ce: AnyCloudEvent): Record<string, unknown> {
  const obj = toStructured(ce);
  const data = obj.data;
  if (data instanceof Uint8Array) {
    delete obj.data;
    obj.data_base64 = Buffer.from(data).toString("base64");
  }
  return obj;
}

/** True when the stored form carries binary data, which binary-mode HTTP with a string body cannot carry losslessly. */
export function hasBinaryData(obj: Readonly<Record<string, unknown>>): boolean {
  return typeof obj.data_base64 === "string";
}
