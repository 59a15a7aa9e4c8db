// The deadLetter function and its store: idempotent recording, listing, replay through a bus, discard.
import Database from "better-sqlite3";
import { CloudEvent } from "cloudevents";
import { describe, expect, it } from "vitest";
import { NotFoundError } from "../../../platform/errors.ts";
import { deadLetter, replayDeadLetter } from "../../../platform/eventing/dead-letter.ts";
import { DeadLetterStore, originalEvent } from "../../../platform/eventing/dead-letter-store.ts";
import type { AnyCloudEvent } from "../../../platform/events/envelope.ts";
import { createLogger } from "../../../platform/log.ts";

const log = createLogger("silent");

function deadLettered(id: string, code = 503, dest = "http://log-model.flywheel.svc.cluster.local"): AnyCloudEvent {
  return new CloudEvent<unknown>({
    id,
    source: "/flywheel/functions/launch-training",
    type: "dev.flywheel.training.succeeded",
    datacontenttype: "application/json",
    data: { model: "iris" },
    knativeerrordest: dest,
    knativeerrorcode: code,
    knativeerrordata: Buffer.from("busy").toString("base64"),
  });
}

function setup(): { store: DeadLetterStore; emitted: AnyCloudEvent[]; clock: { t: number }; deps: Parameters<typeof deadLetter>[1] } {
  const store = new DeadLetterStore(new Database(":memory:"));
  const emitted: AnyCloudEvent[] = [];
  const clock = { t: 1_000 };
  const deps = { store, log, now: () => clock.t, bus: { emit: async (e: AnyCloudEvent) => void emitted.push(e) } };
  return { store, emitted, clock, deps };
}

describe("deadLetter handler", () => {
  it("stores the event with its knativeerror* extensions", async () => {
    const { store, deps } = setup();
    const out = await deadLetter(deadLettered("e1"), deps);
    expect(out.status).toBe("done");
    const [dl] = store.list();
    expect(dl).toMatchObject({
      eventId: "e1",
      type: "dev.flywheel.training.succeeded",
      errorDest: "http://log-model.flywheel.svc.cluster.local",
      errorCode: 503,
      errorData: Buffer.from("busy").toString("base64"),
      state: "dead",
      count: 1,
    });
    expect(dl?.event).toMatchObject({ knativeerrorcode: 503, data: { model: "iris" } });
    expect(out.detail).toBe(dl?.id);
  });

  it("is idempotent: the same dead letter delivered twice is one row", async () => {
    const { store, deps } = setup();
    await deadLetter(deadLettered("e1"), deps);
    const again = await deadLetter(deadLettered("e1"), deps);
    expect(again.status).toBe("duplicate");
    expect(store.count()).toBe(1);
  });

  it("the same event failing at two destinations is two rows", async () => {
    const { store, deps } = setup();
    await deadLetter(deadLettered("e1", 503, "http://a.ns.svc.cluster.local"), deps);
    await deadLetter(deadLettered("e1", 503, "http://b.ns.svc.cluster.local"), deps);
    expect(store.count()).toBe(2);
  });
});

describe("replay and discard", () => {
  it("replay re-emits the original event without the knativeerror* extensions, once", async () => {
    const { store, deps, emitted, clock } = setup();
    await deadLetter(deadLettered("e1"), deps);
    const [dl] = store.list();
    clock.t = 2_000;
    const replayed = await replayDeadLetter(store, dl?.id ?? "", deps);
    expect(replayed.state).toBe("replayed");
    expect(emitted).toHaveLength(1);
    const ev = emitted[0];
    expect(ev?.id).toBe("e1");
    expect(ev?.data).toEqual({ model: "iris" });
    expect(Object.keys(ev?.toJSON() ?? {}).filter((k) => k.startsWith("knativeerror"))).toEqual([]);
    await replayDeadLetter(store, dl?.id ?? "", deps);
    expect(emitted).toHaveLength(1);
    expect(store.list()).toHaveLength(0);
    expect(store.list({ state: "replayed" })).toHaveLength(1);
  });

  it("an event dead-lettered again after a replay waits again, with its count", async () => {
    const { store, deps } = setup();
    await deadLetter(deadLettered("e1"), deps);
    const id = store.list()[0]?.id ?? "";
    await replayDeadLetter(store, id, deps);
    const out = await deadLetter(deadLettered("e1", 500), deps);
    expect(out.status).toBe("done");
    expect(store.get(id)).toMatchObject({ state: "dead", count: 2, errorCode: 500 });
  });

  it("a failed replay leaves the dead letter waiting", async () => {
    const { store, deps } = setup();
    await deadLetter(deadLettered("e1"), deps);
    const id = store.list()[0]?.id ?? "";
    const failing = { ...deps, bus: { emit: async () => Promise.reject(new Error("ingress down")) } };
    await expect(replayDeadLetter(store, id, failing)).rejects.toThrow("ingress down");
    expect(store.get(id).state).toBe("dead");
  });

  it("discard hides it from the default listing and keeps it on record", async () => {
    const { store, deps } = setup();
    await deadLetter(deadLettered("e1"), deps);
    await deadLetter(deadLettered("e2"), deps);
    const id = store.list({ type: "dev.flywheel.training.succeeded" })[0]?.id ?? "";
    expect(store.discard(id, 5)).toBe(true);
    expect(store.discard(id, 6)).toBe(false);
    expect(store.count()).toBe(1);
    expect(store.list({ state: "discarded" }).map((d) => d.id)).toEqual([id]);
  });

  it("unknown ids are NotFoundError", async () => {
    const { store, deps } = setup();
    expect(() => store.get("nope")).toThrow(NotFoundError);
    expect(() => store.discard("nope", 1)).toThrow(NotFoundError);
    await expect(replayDeadLetter(store, "nope", deps)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("lists newest first with limit and offset", async () => {
    const { store, deps, clock } = setup();
    for (let i = 0; i < 5; i++) {
      clock.t = 1_000 + i;
      await deadLetter(deadLettered(`e${i}`), deps);
    }
    expect(store.list({ limit: 2 }).map((d) => d.eventId)).toEqual(["e4", "e3"]);
    expect(store.list({ limit: 2, offset: 2 }).map((d) => d.eventId)).toEqual(["e2", "e1"]);
    expect(originalEvent(store.list({ limit: 1 })[0] ?? store.get("x")).id).toBe("e4");
  });
});
