// The two StateStore adapters as test fixtures: SQLite in a temp dir, PostgreSQL on a real Debian cluster.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { openPostgresState, openSqliteState, type StateStore } from "../../../platform/state/index.ts";
import { startPostgres, type TestPostgres } from "../../support/postgres.ts";

export interface Adapter {
  readonly name: "sqlite" | "postgresql";
  /** A fresh, empty store location (a new file or a new database). */
  fresh(): Promise<string>;
  open(location: string): Promise<StateStore>;
  stop(): Promise<void>;
}

export async function sqliteAdapter(): Promise<Adapter> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-state-"));
  return {
    name: "sqlite",
    fresh: async () => path.join(dir, `${crypto.randomUUID()}.sqlite`),
    open: (file) => openSqliteState(file),
    stop: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export async function postgresAdapter(): Promise<Adapter> {
  const pg: TestPostgres = await startPostgres();
  return {
    name: "postgresql",
    fresh: () => pg.createDatabase("state"),
    open: (url) => openPostgresState(url),
    stop: () => pg.stop(),
  };
}

/** Both adapters for one test file, started before its tests and stopped after; look one up by name. */
export function useAdapters(): (name: string) => Adapter {
  const adapters: Record<string, Adapter> = {};
  beforeAll(async () => {
    adapters.sqlite = await sqliteAdapter();
    adapters.postgresql = await postgresAdapter();
  });
  afterAll(async () => {
    for (const a of Object.values(adapters)) await a.stop();
  });
  return (name) => {
    const a = adapters[name];
    if (!a) throw new Error(`no adapter ${name}`);
    return a;
  };
}
