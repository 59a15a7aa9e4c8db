// Versioned, idempotent schema migrations, run at start under a lock so N replicas starting together apply each once.
import { sql, type Compilable, type Kysely, type Transaction } from "kysely";
import { lineageKeys, type StateTables } from "./schema.ts";

/**
 * THE ROLLOUT RULE (expand, then contract). During a rollout old and new replicas run side by side on one schema, so:
 * - A migration only EXPANDS: new tables, new nullable or defaulted columns, new indexes. Old code never notices.
 * - Code stops using a column or table one release before a later migration drops it (the CONTRACT step).
 * - A migration is never edited once released; fix forward with a new version.
 * - An old replica that starts after a newer one migrated sees versions it does not know and runs anyway (the schema
 *   only grew), which is why this is not Kysely's Migrator: that refuses to start when it finds an unknown migration.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: Transaction<StateTables>): Promise<void>;
}

/** A schema statement built once: executed through Kysely (StateStore) or compiled for better-sqlite3 (broker). */
export type SchemaStatement = Compilable & { execute(): Promise<void> };

/**
 * The dead_letters table and its index, as migration 2 creates them. The embedded broker's SQLite DeadLetterStore
 * creates the same statements in its own database (dead-letter-store.ts), so the row shape is declared here only.
 * Frozen like a released migration: a change to dead_letters is a new migration (and the broker's store runs it too).
 */
export function deadLettersSchema(db: Kysely<StateTables>): readonly SchemaStatement[] {
  return [
    db.schema
      .createTable("dead_letters")
      .ifNotExists()
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("event_id", "text", (c) => c.notNull())
      .addColumn("source", "text", (c) => c.notNull())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("trigger", "text")
      .addColumn("error_dest", "text", (c) => c.notNull())
      .addColumn("error_code", "integer")
      .addColumn("error_data", "text", (c) => c.notNull())
      .addColumn("attempts", "integer")
      .addColumn("state", "text", (c) => c.notNull())
      .addColumn("count", "integer", (c) => c.notNull())
      .addColumn("first_at", "bigint", (c) => c.notNull())
      .addColumn("last_at", "bigint", (c) => c.notNull())
      .addColumn("event", "text", (c) => c.notNull()),
    db.schema.createIndex("dead_letters_state").ifNotExists().on("dead_letters").columns(["state", "last_at"]),
  ];
}

// Both dialects: "bigint" is INTEGER affinity in SQLite and int8 in PostgreSQL (read back as a number, see store.ts).
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "retrain decisions and trainings",
    up: async (db) => {
      await db.schema
        .createTable("retrain_decisions")
        .ifNotExists()
        .addColumn("cause_key", "text", (c) => c.primaryKey())
        .addColumn("model", "text", (c) => c.notNull())
        .addColumn("decision", "text", (c) => c.notNull())
        .addColumn("reason", "text", (c) => c.notNull())
        .addColumn("at", "bigint", (c) => c.notNull())
        .addColumn("events", "text", (c) => c.notNull())
        .addColumn("emitted", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex("retrain_decisions_at").ifNotExists().on("retrain_decisions").columns(["at"]).execute();
      await db.schema
        .createTable("retrain_trainings")
        .ifNotExists()
        .addColumn("training_event_id", "text", (c) => c.primaryKey())
        .addColumn("model", "text", (c) => c.notNull())
        .addColumn("reason", "text", (c) => c.notNull())
        .addColumn("cause_event_id", "text", (c) => c.notNull())
        .addColumn("requested_at", "bigint", (c) => c.notNull())
        .addColumn("stale_at", "bigint", (c) => c.notNull())
        .addColumn("finished_at", "bigint")
        .addColumn("outcome", "text")
        .execute();
      await db.schema.createIndex("retrain_trainings_model").ifNotExists().on("retrain_trainings").columns(["model", "requested_at"]).execute();
    },
  },
  {
    version: 2,
    name: "dead letters",
    up: async (db) => {
      for (const statement of deadLettersSchema(db)) await statement.execute();
    },
  },
  {
    version: 3,
    name: "event log and revoked sessions",
    up: async (db) => {
      await db.schema
        .createTable("event_log")
        .ifNotExists()
        .addColumn("key", "text", (c) => c.primaryKey())
        .addColumn("id", "text", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("subject", "text")
        .addColumn("time", "text")
        .addColumn("received_at", "bigint", (c) => c.notNull())
        .addColumn("event", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("event_log_received").ifNotExists().on("event_log").columns(["received_at"]).execute();
      await db.schema
        .createTable("revoked_sessions")
        .ifNotExists()
        .addColumn("sid", "text", (c) => c.primaryKey())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .execute();
    },
  },
  {
    // Expand only: a new table. deploy-model replicas of the previous release keep their canaries in /tmp and never
    // read it; the first new replica to start a canary writes here (a canary running during the rollout finishes on
    // the old replica that started it, or by a manual promote/rollback).
    version: 4,
    name: "canaries",
    up: async (db) => {
      await db.schema
        .createTable("canaries")
        .ifNotExists()
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("revision", "text", (c) => c.notNull())
        .addColumn("started_at", "bigint", (c) => c.notNull())
        .addColumn("record", "text", (c) => c.notNull())
        .execute();
    },
  },
  {
    version: 5,
    name: "drift history",
    up: async (db) => {
      await db.schema
        .createTable("drift_history")
        .ifNotExists()
        .addColumn("model", "text", (c) => c.notNull())
        .addColumn("version", "text", (c) => c.notNull())
        .addColumn("at", "bigint", (c) => c.notNull())
        .addColumn("scores", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("drift_history_pk", ["model", "version", "at"])
        .execute();
      await db.schema.createIndex("drift_history_at").ifNotExists().on("drift_history").columns(["at"]).execute();
    },
  },
  {
    // Expand only: nullable columns an old replica never writes (its rows then show in the activity page but not in a
    // version's lineage until trimmed) and indexes, so a version's lineage is selected in SQL, not from the newest rows.
    version: 6,
    name: "event log lineage keys",
    up: async (db) => {
      for (const column of ["about_model", "about_version", "about_job", "about_name"] as const) {
        await db.schema.alterTable("event_log").addColumn(column, "text").execute();
      }
      await db.schema.createIndex("event_log_about_version").ifNotExists().on("event_log").columns(["about_model", "about_version"]).execute();
      await db.schema.createIndex("event_log_about_job").ifNotExists().on("event_log").columns(["about_job"]).execute();
      await db.schema.createIndex("event_log_about_name").ifNotExists().on("event_log").columns(["about_name"]).execute();
      // The rows logged before (at most the retention's 10 000) get their keys once.
      const rows = await db.selectFrom("event_log").select(["key", "event"]).execute();
      for (const r of rows) {
        const about = lineageKeys(r.event);
        if (about.about_model || about.about_job || about.about_name) await db.updateTable("event_log").set(about).where("key", "=", r.key).execute();
      }
    },
  },
];

export interface MigrateResult {
  /** Versions this call applied (empty when another replica, or an earlier start, already did). */
  readonly applied: readonly number[];
  /** Versions in the database that this code does not know: a newer release migrated (tolerated, see the rule). */
  readonly unknown: readonly number[];
}

/**
 * Apply every known migration not yet recorded, each in the same transaction as its record. `lock` runs first inside
 * that transaction: PostgreSQL takes a transaction-level advisory lock, so concurrent starters queue and then see the
 * version recorded; SQLite's single connection already serialises.
 */
export async function migrate(
  db: Kysely<StateTables>,
  lock: (trx: Transaction<StateTables>) => Promise<void>,
  migrations: readonly Migration[] = MIGRATIONS,
  now: () => number = Date.now,
): Promise<MigrateResult> {
  // Every replica of every function migrates at start (scale from zero included): once the schema is current, one
  // read says so, instead of a locked transaction (BEGIN, lock, SELECT, COMMIT) per migration on the cold path.
  // Applied migrations are never undone, so a read that lists them all needs no lock.
  const current = await appliedVersions(db);
  if (current && migrations.every((m) => current.includes(m.version))) {
    const known = new Set(migrations.map((m) => m.version));
    return { applied: [], unknown: current.filter((v) => !known.has(v)) };
  }
  await db.schema
    .createTable("flywheel_schema")
    .ifNotExists()
    .addColumn("version", "integer", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("applied_at", "bigint", (c) => c.notNull())
    .execute()
    .catch(async (e: unknown) => {
      // Two replicas racing CREATE TABLE IF NOT EXISTS in PostgreSQL can collide on the catalog's unique index.
      if (!(await hasSchemaTable(db))) throw e;
    });
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    const done = await db.transaction().execute(async (trx) => {
      await lock(trx);
      const row = await trx.selectFrom("flywheel_schema").select("version").where("version", "=", m.version).executeTakeFirst();
      if (row) return false;
      await m.up(trx);
      await trx.insertInto("flywheel_schema").values({ version: m.version, name: m.name, applied_at: now() }).execute();
      return true;
    });
    if (done) applied.push(m.version);
  }
  const known = new Set(migrations.map((m) => m.version));
  const rows = await db.selectFrom("flywheel_schema").select("version").execute();
  return { applied, unknown: rows.map((r) => r.version).filter((v) => !known.has(v)) };
}

/**
 * The versions in flywheel_schema, or undefined when they cannot be read (no table yet); any other failure, such as
 * an unreachable database, surfaces again from the locked path that follows.
 */
async function appliedVersions(db: Kysely<StateTables>): Promise<number[] | undefined> {
  try {
    return (await db.selectFrom("flywheel_schema").select("version").execute()).map((r) => r.version);
  } catch {
    return undefined;
  }
}

async function hasSchemaTable(db: Kysely<StateTables>): Promise<boolean> {
  try {
    await sql`select 1 from flywheel_schema limit 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
