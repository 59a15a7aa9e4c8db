// The canary records' StateStore adapter (SQLite here; PostgreSQL in test/integration/state/deploy-model-replicas) and
// the one-time import of an older release's canaries.json, so an upgrade keeps deciding the canaries it had.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { CanaryStore, importCanaryFile, StateCanaryStore, type CanaryRecord } from "../../../functions/deploy-model/index.ts";
import { parsePolicies } from "../../../platform/policies/index.ts";
import { openSqliteState } from "../../../platform/state/index.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "canary-store-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const policy = parsePolicies("defaults: {rollout: {strategy: canary}}").forModel("m").rollout;
const rec = (name: string, revision: string, startedAt = 1): CanaryRecord => ({
  name, model: name, backend: "local", stable: { deployment: `${name}-v1`, version: "1" }, candidate: { deployment: `${name}-v2`, version: "2" },
  percent: 10, startedAt, revision, cause: { id: "c" }, policy,
});

it("stores, replaces, lists and deletes records in the StateStore, and they outlive the process's handle", async () => {
  const file = path.join(tmp, "state.sqlite");
  const state = await openSqliteState(file);
  const store = new StateCanaryStore(state);
  await store.put(rec("b", "r1", 2));
  await store.put(rec("a", "r1", 1));
  await store.put(rec("b", "r2", 3)); // a newer canary under the same name replaces the old one
  expect((await store.all()).map((r) => [r.name, r.revision])).toEqual([["a", "r1"], ["b", "r2"]]);
  await state.close();
  const reopened = new StateCanaryStore(await openSqliteState(file));
  expect(await reopened.get("b")).toEqual(rec("b", "r2", 3));
  await reopened.delete("b");
  expect(await reopened.get("b")).toBeUndefined();
  expect((await reopened.all()).map((r) => r.name)).toEqual(["a"]);
});

it("imports an older release's canaries.json once; a record already in the store wins", async () => {
  const work = path.join(tmp, "deployments");
  const legacy = new CanaryStore(work);
  await legacy.put(rec("x", "old"));
  await legacy.put(rec("y", "old"));
  const state = await openSqliteState(path.join(tmp, "import.sqlite"));
  const store = new StateCanaryStore(state);
  await store.put(rec("y", "new"));
  expect(await importCanaryFile(work, store)).toBe(1);
  expect((await store.get("x"))?.revision).toBe("old");
  expect((await store.get("y"))?.revision).toBe("new");
  expect(fs.existsSync(path.join(work, "canaries.json"))).toBe(false);
  expect(await importCanaryFile(work, store)).toBe(0); // nothing left to import on the next start
  await state.close();
});
