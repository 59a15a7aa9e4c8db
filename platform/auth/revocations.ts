// Session logouts in the StateStore, so a session ended on one UI replica is ended on all of them.
import type { StateStore } from "../state/index.ts";
import type { SessionRevocations } from "./session.ts";

export class StateRevocations implements SessionRevocations {
  readonly #state: StateStore;
  readonly #now: () => number;
  constructor(state: StateStore, now: () => number = Date.now) {
    this.#state = state;
    this.#now = now;
  }

  async revoke(sid: string, expiresAtS: number): Promise<void> {
    const db = this.#state.db;
    await db.insertInto("revoked_sessions").values({ sid, expires_at: expiresAtS }).onConflict((oc) => oc.column("sid").doNothing()).execute();
    // Rows are needed only while their cookie could still be valid.
    await db.deleteFrom("revoked_sessions").where("expires_at", "<=", Math.floor(this.#now() / 1000)).execute();
  }

  async isRevoked(sid: string): Promise<boolean> {
    const row = await this.#state.db.selectFrom("revoked_sessions").select("sid").where("sid", "=", sid).executeTakeFirst();
    return row !== undefined;
  }
}
