// The StateStore port and its two adapters: SQLite (embedded) and PostgreSQL (Knative), one Kysely query layer.
import fs from "node:fs";
import path from "node:path";
import type Database from "better-sqlite3";
import { Kysely, PostgresDialect, sql, SqliteDialect, type Transaction } from "kysely";
import pg from "pg";
import type { Config } from "../config/index.ts";
import { privateFile } from "../private-files.ts";
import { migrate, type MigrateResult } from "./migrations.ts";
import type { StateTables } from "./schema.ts";

export type StateDialect = "sqlite" | "postgresql";
export type StateTx = Transaction<StateTables>;

/**
 * What every piece of shared state is built on. `db` is the one query layer; `withLock` is the only place the two
 * dialects differ for domain code: it runs `fn` in a transaction that holds a named lock, so N replicas deciding
 * for the same key (a model, a session) take turns.
 */
export interface StateStore {
  readonly dialect: StateDialect;
  readonly db: Kysely<StateTables>;
  /** The migrations this start applied and any newer versions found (see migrations.ts's rollout rule). */
  readonly migrated: MigrateResult;
  withLock<T>(key: string, fn: (trx: StateTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** PostgreSQL: `pg_advisory_xact_lock` on a 64-bit hash of the key, released by the transaction's end (or death). */
async function pgLock(trx: StateTx, key: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(trx);
}

/**
 * SQLite: within a process, Kysely's SqliteDriver has one connection behind a mutex, so a transaction already
 * excludes the others. Across connections (a second process on the same file) a write as the first statement turns
 * the deferred BEGIN into a write transaction at once, so the next one waits (busy_timeout) instead of reading stale
 * rows; SQLite has a single writer, so one lock is all keys.
 */
async function sqliteLock(trx: StateTx): Promise<void> {
  await sql`update flywheel_schema set name = name where version < 0`.execute(trx);
}

class KyselyStateStore implements StateStore {
  constructor(
    readonly dialect: StateDialect,
    readonly db: Kysely<StateTables>,
    readonly migrated: MigrateResult,
    readonly lock: (trx: StateTx, key: string) => Promise<void>,
  ) {}

  withLock<T>(key: string, fn: (trx: StateTx) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      await this.lock(trx, key);
      return fn(trx);
    });
  }

  close(): Promise<void> {
    return this.db.destroy();
  }
}

/** SQLite file (WAL, synchronous=FULL so a decision survives a crash), migrated. */
export async function openSqliteState(file: string): Promise<StateStore> {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // 0600 before SQLite opens it, so the WAL and SHM files it makes follow (the data dir is private).
  // Loaded here, not at import: Knative functions run on PostgreSQL and need not load the native addon at start-up.
  const { default: Sqlite } = await import("better-sqlite3");
  const database: Database.Database = new Sqlite(privateFile(file));
  // busy_timeout first: another process switching the file to WAL at the same moment must be waited for.
  database.pragma("busy_timeout = 10000");
  database.pragma("journal_mode = WAL");
  database.pragma("synchronous = FULL");
  const db = new Kysely<StateTables>({ dialect: new SqliteDialect({ database }) });
  const migrated = await migrate(db, sqliteLock);
  return new KyselyStateStore("sqlite", db, migrated, sqliteLock);
}

const INT8_OID = 20;

/** PostgreSQL pool on a DSN, migrated under the advisory lock. */
export async function openPostgresState(url: string, opts: { readonly max?: number } = {}): Promise<StateStore> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 5,
    // bigint columns hold epoch ms and counts, all far below 2^53: read them as numbers, as SQLite does.
    types: { getTypeParser: (oid, format) => (oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) },
  });
  // An idle client that loses its server (failover, restart) is dropped by the pool and replaced on the next query;
  // without a listener, node would treat the pool's 'error' event as an uncaught exception and exit.
  pool.on("error", () => undefined);
  const db = new Kysely<StateTables>({ dialect: new PostgresDialect({ pool }) });
  try {
    const migrated = await migrate(db, (trx) => pgLock(trx, "flywheel:migrations"));
    return new KyselyStateStore("postgresql", db, migrated, pgLock);
  } catch (e) {
    await db.destroy();
    throw e;
  }
}

/** The one factory: PostgreSQL when FLYWHEEL_DATABASE_URL is set, else SQLite at `<dataDir>/state.sqlite`. */
export function openStateStore(config: Pick<Config, "dataDir" | "state">): Promise<StateStore> {
  return config.state.databaseUrl ? openPostgresState(config.state.databaseUrl) : openSqliteState(path.join(config.dataDir, "state.sqlite"));
}
