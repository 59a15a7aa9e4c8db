// The StateStore's schema statements as SQLite SQL, for a better-sqlite3 database the StateStore does not own.
import { DummyDriver, Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, type Compilable } from "kysely";
import type { StateTables } from "./schema.ts";

// Compiles only: the dummy driver never touches a database.
const compiler = new Kysely<StateTables>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
});

/** One SQL script of the statements `build` returns, for `Database.exec` (DDL only: it takes no parameters). */
export function sqliteScript(build: (db: Kysely<StateTables>) => readonly Compilable[]): string {
  return build(compiler)
    .map((statement) => {
      const { sql, parameters } = statement.compile();
      if (parameters.length > 0) throw new Error(`schema statement has parameters, cannot run as a script: ${sql}`);
      return `${sql};`;
    })
    .join("\n");
}
