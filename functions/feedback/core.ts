// Feedback: verify each request id, join its labels with the logged prediction, store labelled rows per model and
// update live accuracy. All items are checked before anything is stored, so a 400 changes nothing.
import { ValidationError, type FieldIssue } from "../../platform/errors.ts";
import type { EventData } from "../../platform/events/index.ts";
import type { LabelledRow, LogRecord } from "../../platform/inference-log/store.ts";
import type { FeedbackDeps } from "./deps.ts";
import { checkRollback } from "./rollback.ts";

export type FeedbackItem = EventData<"inference.feedback">["feedback"][number];

export interface FeedbackResult {
  readonly accepted: number;
  /** Items joined with a logged prediction. */
  readonly matched: number;
  /** Issued ids whose request was not sampled (or has aged out): accepted, but nothing to join. */
  readonly unmatched: number;
  /** Items whose labels were already stored. */
  readonly duplicates: number;
  readonly rollbacks: readonly string[];
}

const labelType = (rec: LogRecord): "class" | "number" | "string" =>
  rec.classes?.length ? "class" : rec.predictions.every((p) => typeof p === "number") && rec.predictions.length ? "number" : "string";

function checkLabels(rec: LogRecord, labels: readonly (string | number)[], field: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const n = rec.predictions.length || rec.rows.length;
  if (labels.length !== n) issues.push({ field, message: `request ${rec.requestId} had ${n} row(s); got ${labels.length} label(s)` });
  const kind = labelType(rec);
  labels.forEach((l, i) => {
    const at = labels.length > 1 ? `${field}[${i}]` : field;
    if (kind === "class" && (typeof l !== "string" || !rec.classes?.includes(l))) {
      issues.push({ field: at, message: `expected one of ${(rec.classes ?? []).join(", ")}, got ${JSON.stringify(l)}` });
    } else if (kind === "number" && typeof l !== "number") issues.push({ field: at, message: `expected a number, got ${JSON.stringify(l)}` });
    else if (kind === "string" && typeof l !== "string") issues.push({ field: at, message: `expected a string label, got ${JSON.stringify(l)}` });
  });
  return issues;
}

export async function applyFeedback(deps: FeedbackDeps, deployment: string, items: readonly FeedbackItem[], prefix = "feedback"): Promise<FeedbackResult> {
  const issues: FieldIssue[] = [];
  const joined: { rec: LogRecord; labels: (string | number)[] }[] = [];
  let unmatched = 0;
  items.forEach((item, i) => {
    const field = `${prefix}[${i}]`;
    const time = deps.ids.verify(deployment, item.requestId);
    if (time === undefined) {
      issues.push({ field: `${field}.requestId`, message: `unknown request id ${JSON.stringify(item.requestId.slice(0, 80))}: not issued by this server for deployment ${deployment}` });
      return;
    }
    const labels = item.labels ?? (item.label !== undefined ? [item.label] : []);
    const rec = deps.store.find(deployment, item.requestId, time);
    if (!rec) {
      unmatched++;
      return;
    }
    const bad = checkLabels(rec, labels, `${field}.${item.labels ? "labels" : "label"}`);
    if (bad.length) issues.push(...bad);
    else joined.push({ rec, labels });
  });
  if (issues.length) throw new ValidationError(issues);

  let duplicates = 0;
  const touched = new Map<string, { model: string; version: string }>();
  for (const { rec, labels } of joined) {
    if (!rec.model) {
      unmatched++;
      continue;
    }
    const version = rec.version ?? "";
    const prior = deps.store.labelsOf(rec.model, rec.requestId, rec.time);
    const same = prior.length > 0 && labels.every((l, r) => prior.filter((p) => p.row === r).at(-1)?.label === l);
    if (same) {
      duplicates++;
      continue;
    }
    const at = deps.now();
    const rows: LabelledRow[] = labels.map((label, r) => ({
      requestId: rec.requestId, row: r, time: rec.time, labelledAt: at, deployment, model: rec.model ?? "", version,
      features: rec.rows[r] ?? {}, label, predicted: rec.predictions[r],
    }));
    deps.store.addLabelled(rows);
    // A correction replaces the stored label; only a request's first labels count toward live accuracy.
    if (prior.length === 0) for (const row of rows) deps.accuracy.add(row.model, version, row.predicted === row.label);
    touched.set(`${rec.model}\u0000${version}`, { model: rec.model, version });
  }
  const rollbacks: string[] = [];
  for (const t of touched.values()) {
    const id = await checkRollback(deps, t.model, t.version);
    if (id) rollbacks.push(id);
  }
  return { accepted: items.length, matched: joined.length - duplicates, unmatched, duplicates, rollbacks };
}
