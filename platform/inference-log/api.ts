// /api/v1/inference-logs/{deployment}: read (GET) or delete (DELETE) a deployment's sampled records in [from, to).
// Both need the data-scientist role (platform/app/access.ts): the records are production inputs.
import { Hono } from "hono";
import { toHttpError, ValidationError, type FieldIssue } from "../errors.ts";
import type { FileInferenceLog } from "./store.ts";

function range(q: (k: string) => string | undefined, now: number): { from: number; to: number } {
  const issues: FieldIssue[] = [];
  const at = (k: string, dflt: number): number => {
    const raw = q(k);
    if (raw === undefined || raw === "") return dflt;
    const t = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
    if (!Number.isFinite(t)) issues.push({ field: k, message: "must be epoch milliseconds or an ISO 8601 time" });
    return t;
  };
  const from = at("from", 0);
  const to = at("to", now + 1);
  if (!issues.length && from >= to) issues.push({ field: "from", message: "must be before to" });
  if (issues.length) throw new ValidationError(issues);
  return { from, to };
}

export function inferenceLogApi(deps: { store: FileInferenceLog; now: () => number }): Hono {
  const app = new Hono();
  const fail = (e: unknown): Response => {
    const { status, body } = toHttpError(e);
    return Response.json(body, { status });
  };
  const name = (raw: string): string => {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(raw)) throw new ValidationError([{ field: "deployment", message: "is not a deployment name" }]);
    return raw;
  };
  app.get("/:deployment", (c) => {
    try {
      const { from, to } = range((k) => c.req.query(k), deps.now());
      const limit = Math.min(Math.max(Number(c.req.query("limit") ?? 1000) || 1000, 1), 10_000);
      return c.json({ records: deps.store.records(name(c.req.param("deployment")), from, to, limit) });
    } catch (e) {
      return fail(e);
    }
  });
  app.delete("/:deployment", (c) => {
    try {
      const { from, to } = range((k) => c.req.query(k), deps.now());
      return c.json({ deleted: deps.store.delete(name(c.req.param("deployment")), from, to) });
    } catch (e) {
      return fail(e);
    }
  });
  return app;
}
