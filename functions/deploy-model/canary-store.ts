// Where running canaries are kept: the StateStore (both modes; shared by every deploy-model replica in Knative), or a
// JSON file for callers that wire deploy-model without one (tests, old embedded data imported once).
import fs from "node:fs";
import path from "node:path";
import type { StateStore } from "../../platform/state/index.ts";
import type { CanaryRecord } from "./canary.ts";

/**
 * Active canaries, one per deployment name. Async because the Knative store is PostgreSQL: any replica that wakes (the
 * canary-check PingSource, a manual promote) reads the record another replica wrote, and a scale to zero keeps it.
 */
export interface CanaryRecords {
  get(name: string): Promise<CanaryRecord | undefined>;
  all(): Promise<CanaryRecord[]>;
  put(r: CanaryRecord): Promise<void>;
  delete(name: string): Promise<void>;
}

function parseRecord(json: string): CanaryRecord | undefined {
  try {
    const v: unknown = JSON.parse(json);
    // Written only by put(); a row that is not an object (hand edits) is ignored rather than crashing every tick.
    return v && typeof v === "object" && "name" in v ? (v as CanaryRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** The StateStore's `canaries` table: the record as JSON, keyed by deployment name (insert or replace). */
export class StateCanaryStore implements CanaryRecords {
  readonly #state: StateStore;
  constructor(state: StateStore) {
    this.#state = state;
  }

  async get(name: string): Promise<CanaryRecord | undefined> {
    const row = await this.#state.db.selectFrom("canaries").select("record").where("name", "=", name).executeTakeFirst();
    return row ? parseRecord(row.record) : undefined;
  }

  async all(): Promise<CanaryRecord[]> {
    const rows = await this.#state.db.selectFrom("canaries").select("record").orderBy("started_at").execute();
    return rows.flatMap((r) => parseRecord(r.record) ?? []);
  }

  async put(r: CanaryRecord): Promise<void> {
    const values = { name: r.name, revision: r.revision, started_at: r.startedAt, record: JSON.stringify(r) };
    await this.#state.db
      .insertInto("canaries")
      .values(values)
      .onConflict((oc) => oc.column("name").doUpdateSet({ revision: values.revision, started_at: values.started_at, record: values.record }))
      .execute();
  }

  async delete(name: string): Promise<void> {
    await this.#state.db.deleteFrom("canaries").where("name", "=", name).execute();
  }
}

/** `${workDir}/canaries.json`, rewritten atomically on each change (one process only). */
export class CanaryStore implements CanaryRecords {
  readonly #file: string;
  readonly #records = new Map<string, CanaryRecord>();

  constructor(workDir: string) {
    this.#file = path.join(workDir, "canaries.json");
    for (const r of readCanaryFile(this.#file)) this.#records.set(r.name, r);
  }

  async get(name: string): Promise<CanaryRecord | undefined> {
    return this.#records.get(name);
  }

  async all(): Promise<CanaryRecord[]> {
    return [...this.#records.values()];
  }

  async put(r: CanaryRecord): Promise<void> {
    this.#records.set(r.name, r);
    this.#save();
  }

  async delete(name: string): Promise<void> {
    this.#records.delete(name);
    this.#save();
  }

  #save(): void {
    fs.mkdirSync(path.dirname(this.#file), { recursive: true });
    const tmp = `${this.#file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify([...this.#records.values()], null, 2));
    fs.renameSync(tmp, this.#file);
  }
}

function readCanaryFile(file: string): CanaryRecord[] {
  if (!fs.existsSync(file)) return [];
  try {
    const list: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
    return Array.isArray(list) ? list.flatMap((r: unknown) => parseRecord(JSON.stringify(r)) ?? []) : [];
  } catch {
    // A corrupt file loses canary bookkeeping only; deployments themselves are intact in the backend.
    return [];
  }
}

/**
 * Embedded data dirs from before the StateStore kept canaries in `${workDir}/canaries.json`: move its records into
 * `store` once (a record already there wins) and rename the file, so an upgrade keeps deciding the running canaries.
 */
export async function importCanaryFile(workDir: string, store: CanaryRecords): Promise<number> {
  const file = path.join(workDir, "canaries.json");
  const records = readCanaryFile(file);
  let n = 0;
  for (const r of records) {
    if (await store.get(r.name)) continue;
    await store.put(r);
    n++;
  }
  if (fs.existsSync(file)) fs.renameSync(file, `${file}.imported`);
  return n;
}
