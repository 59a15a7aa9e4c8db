// A V2 client that calls the embedded V2 server in-process (no Request/Response, no JSON round trip, no second schema
// check) for targets on this process's own server, with the answers and errors the HTTP route would give; any other
// target goes to the fallback client.
import type { InferenceTarget } from "../../platform/ports.ts";
import { v2Failure } from "../../platform/serving/local/routes.ts";
import type { EmbeddedV2Server } from "../../platform/serving/local/server.ts";
import type { InferResponse, ModelMetadata } from "../../platform/serving/v2/types.ts";
import { v2StatusError, type V2Client } from "./client.ts";

export interface EmbeddedV2ClientOptions {
  readonly server: EmbeddedV2Server;
  /** The base URL the local backend puts in its targets (this process's own). */
  readonly baseUrl: string;
  /** For targets elsewhere (another URL, a custom path). */
  readonly fallback: V2Client;
}

const trim = (u: string): string => u.replace(/\/$/, "");

/** True when `v` serialises to JSON and parses back deep-equal (no undefined, NaN, ±Infinity, -0, bigint, class instance). */
function jsonExact(v: unknown, depth = 0): boolean {
  if (depth > 32) return false;
  if (v === null || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v) && !Object.is(v, -0);
  if (Array.isArray(v)) {
    for (const x of v) if (!jsonExact(x, depth + 1)) return false;
    return true;
  }
  if (typeof v !== "object" || Object.getPrototypeOf(v) !== Object.prototype) return false;
  for (const x of Object.values(v)) if (!jsonExact(x, depth + 1)) return false;
  return true;
}

/** What the caller would have parsed from the route's JSON: usually the object itself, a JSON copy when that differs. */
function asJson<T>(v: T): T {
  return jsonExact(v) ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** The headers the route would see from the HTTP client, as a Headers object lists them (experiments read them). */
function routeHeaders(given: Readonly<Record<string, string>>): Record<string, string> {
  const merged = new Map<string, string>();
  for (const [k, v] of Object.entries({ "content-type": "application/json", ...given })) {
    const name = k.toLowerCase();
    const had = merged.get(name);
    merged.set(name, had === undefined ? v.trim() : `${had}, ${v.trim()}`);
  }
  return Object.fromEntries([...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function embeddedV2Client(o: EmbeddedV2ClientOptions): V2Client {
  const base = trim(o.baseUrl);
  // Only the default paths on this server: a target with its own path or metadata URL is someone else's layout.
  const local = (t: InferenceTarget): boolean => trim(t.url) === base && t.inferPath === undefined && t.metadataUrl === undefined;
  return {
    async metadata(t) {
      if (!local(t)) return o.fallback.metadata(t);
      try {
        // Cached per revision by the caller: a JSON copy keeps it apart from the server's own objects.
        return JSON.parse(JSON.stringify(o.server.modelMetadata(t.model))) as ModelMetadata;
      } catch (e) {
        const f = v2Failure(e);
        throw v2StatusError(f.status, f.body.error.slice(0, 500), `metadata of ${t.model}`);
      }
    },
    async infer(t, req, seen) {
      if (!local(t)) return o.fallback.infer(t, req, seen);
      const what = `inference on ${t.model}`;
      const headers = routeHeaders(t.headers);
      let outcome: { response: InferResponse; headers: Readonly<Record<string, string>> };
      try {
        // `req` is already a valid V2 request: infer builds it, or parsed it with InferRequestSchema (readInput).
        outcome = await o.server.infer(t.model, undefined, req, headers);
      } catch (e) {
        const f = v2Failure(e);
        if (seen) seen.headers = { "content-type": "application/json", ...f.headers };
        throw v2StatusError(f.status, f.body.error.slice(0, 500), what);
      }
      const answer = { "content-type": "application/json", ...outcome.headers };
      if (seen) seen.headers = answer;
      return { response: asJson(outcome.response), headers: { ...answer } };
    },
  };
}
