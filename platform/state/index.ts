// The StateStore: shared decisions and records, in SQLite (embedded) or PostgreSQL (Knative), through one Kysely layer.
export { openPostgresState, openSqliteState, openStateStore } from "./store.ts";
export type { StateDialect, StateStore, StateTx } from "./store.ts";
export { migrate, MIGRATIONS } from "./migrations.ts";
export type { MigrateResult, Migration } from "./migrations.ts";
export type { StateTables } from "./schema.ts";
export { StateKeyedLock } from "./lock.ts";
export type { KeyLock } from "./lock.ts";
