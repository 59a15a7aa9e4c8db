// The StateStore's tables as Kysely types: one definition both dialects query (times are epoch ms, JSON is text).
import type { Generated } from "kysely";

export interface SchemaVersionTable {
  version: number;
  name: string;
  applied_at: number;
}

export interface RetrainDecisionsTable {
  cause_key: string;
  model: string;
  decision: "started" | "skipped";
  reason: string;
  at: number;
  /** JSON array of the structured CloudEvents this decision emits. */
  events: string;
  emitted: Generated<number>;
}

export interface RetrainTrainingsTable {
  training_event_id: string;
  model: string;
  reason: string;
  cause_event_id: string;
  requested_at: number;
  stale_at: number;
  finished_at: number | null;
  outcome: "succeeded" | "failed" | "cancelled" | null;
}

export interface DeadLettersTable {
  id: string;
  event_id: string;
  source: string;
  type: string;
  trigger: string | null;
  error_dest: string;
  error_code: number | null;
  error_data: string;
  attempts: number | null;
  state: string;
  count: number;
  first_at: number;
  last_at: number;
  event: string;
}

export interface EventLogTable {
  /** (source, id) as one key: a redelivered event is logged once. */
  key: string;
  id: string;
  source: string;
  type: string;
  subject: string | null;
  time: string | null;
  received_at: number;
  event: string;
  /** What a version's lineage selects on (migration 6): the event data's model, version, jobId and name. */
  about_model?: string | null;
  about_version?: string | null;
  about_job?: string | null;
  about_name?: string | null;
}

/** The lineage keys of a stored event (structured CloudEvent JSON): its data's string model, version, jobId, name. */
export function lineageKeys(eventJson: string): { about_model: string | null; about_version: string | null; about_job: string | null; about_name: string | null } {
  let data: unknown;
  try {
    const ev: unknown = JSON.parse(eventJson);
    data = typeof ev === "object" && ev !== null && "data" in ev ? ev.data : undefined;
  } catch {
    data = undefined;
  }
  const d: Record<string, unknown> = typeof data === "object" && data !== null && !Array.isArray(data) ? Object.fromEntries(Object.entries(data)) : {};
  const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
  return { about_model: str(d.model), about_version: str(d.version), about_job: str(d.jobId), about_name: str(d.name) };
}

/** Sessions are signed cookies; a logout records the session id here until the cookie would have expired anyway. */
export interface RevokedSessionsTable {
  sid: string;
  /** epoch s, the session's own expiry */
  expires_at: number;
}

/** deploy-model's running canaries, one per deployment name (the record as JSON; see functions/deploy-model). */
export interface CanariesTable {
  name: string;
  /** The experiment's revision: a decision derives its event id from it. */
  revision: string;
  /** epoch ms */
  started_at: number;
  record: string;
}

/** One drift scoring of a served model version (embedded mode's DriftMonitor), kept for the UI's history chart. */
export interface DriftHistoryTable {
  model: string;
  version: string;
  /** epoch ms */
  at: number;
  /** JSON object: feature -> score */
  scores: string;
}

export interface StateTables {
  flywheel_schema: SchemaVersionTable;
  retrain_decisions: RetrainDecisionsTable;
  retrain_trainings: RetrainTrainingsTable;
  dead_letters: DeadLettersTable;
  event_log: EventLogTable;
  revoked_sessions: RevokedSessionsTable;
  canaries: CanariesTable;
  drift_history: DriftHistoryTable;
}
