// Crash test: kill -9 the broker process while deliveries are pending, restart it on the same database, and check
// that every accepted event is delivered at least once and each effect is applied exactly once.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { startSubscriber, waitFor, type Subscriber } from "./support.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/broker-child.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const N = 40;

interface Child {
  readonly proc: ChildProcess;
  readonly port: number;
  readonly stderr: () => string;
}

const children: ChildProcess[] = [];
const cleanup: (() => Promise<void>)[] = [];
const dir = mkdtempSync(path.join(tmpdir(), "flywheel-broker-crash-"));
afterAll(async () => {
  for (const c of cleanup) await c();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function startChild(env: Record<string, string>): Promise<Child> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", FIXTURE], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(proc);
    let out = "";
    let err = "";
    proc.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    proc.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]), stderr: () => err });
    });
    proc.on("exit", (code, signal) => reject(new Error(`broker child exited early (${code ?? signal}): ${err}`)));
  });
}

function killed(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once("exit", () => resolve());
  });
}

/** The "broker started" log line of a child: how much work it found on start. */
function startLine(stderr: string): { unfinished: number; recovered: number } {
  for (const line of stderr.split("\n")) {
    if (!line.includes('"broker started"')) continue;
    const v: unknown = JSON.parse(line);
    if (typeof v === "object" && v && "unfinished" in v && "recovered" in v) {
      return { unfinished: Number(v.unfinished), recovered: Number(v.recovered) };
    }
  }
  throw new Error(`no "broker started" line in: ${stderr}`);
}

describe("kill -9 while deliveries are pending", () => {
  it("loses nothing and, with an idempotent subscriber, applies every effect exactly once", async () => {
    // The subscriber applies the effect on receipt (deduped by event id), then answers slowly, so some deliveries are
    // in flight when the broker dies: the broker never sees their 200 and must redeliver them.
    const effects: string[] = [];
    const receipts = new Map<string, number>();
    const running: { first?: Child } = {};
    let inFlightAtCrash: string | undefined;
    let posted = false;
    const subscriber: Subscriber = await startSubscriber((r) => {
      const id = String(r.headers["ce-id"]);
      receipts.set(id, (receipts.get(id) ?? 0) + 1);
      if (!effects.includes(id)) effects.push(id); // the subscriber's side of at-least-once: dedupe by event id
      if (posted && !inFlightAtCrash && running.first) {
        // kill -9 while this delivery (and others) are in flight: the broker never sees their answers.
        inFlightAtCrash = id;
        running.first.proc.kill("SIGKILL");
      }
      // Held long while events are still being posted: deliveries start right after each commit, so with quick answers
      // every event could be delivered before the last 202 and nothing would be left in flight to crash on.
      return { status: 200, delayMs: posted ? 200 : 3_000 };
    });
    cleanup.push(() => subscriber.close());
    const env = { BROKER_DB: path.join(dir, "broker.db"), SUBSCRIBER_URL: subscriber.url, CONCURRENCY: "4" };

    const first = await startChild(env);
    running.first = first;
    const ids = Array.from({ length: N }, (_, i) => `crash-${i}`);
    for (const id of ids) {
      const res = await fetch(`http://127.0.0.1:${first.port}/events`, {
        method: "POST",
        headers: { "ce-specversion": "1.0", "ce-id": id, "ce-source": "/tests/crash", "ce-type": "com.example.crash", "content-type": "application/json" },
        body: JSON.stringify({ id }),
      });
      expect(res.status).toBe(202);
    }
    posted = true; // every event is accepted (202): from here on, none may be lost
    await killed(first.proc);
    const deliveredBeforeCrash = receipts.size;
    const receiptsAtCrash = [...receipts.values()].reduce((a, b) => a + b, 0);
    expect(deliveredBeforeCrash).toBeLessThan(N);

    const second = await startChild(env);
    const started = startLine(second.stderr());
    expect(started.unfinished).toBeGreaterThanOrEqual(N - deliveredBeforeCrash);
    // Attempts that were running when the process died are counted and made due again.
    expect(started.recovered).toBeGreaterThan(0);

    // Every delivery left unfinished is made after the restart (retries aside, each at least once).
    const total = (): number => [...receipts.values()].reduce((a, b) => a + b, 0);
    await waitFor(() => total() >= receiptsAtCrash + started.unfinished, 20_000, "every unfinished delivery after restart");
    second.proc.kill("SIGTERM");
    await killed(second.proc);

    for (const id of ids) expect(receipts.get(id) ?? 0, `receipts of ${id}`).toBeGreaterThanOrEqual(1);
    expect([...receipts.keys()].sort()).toEqual([...ids].sort());
    // The delivery in flight at the crash was delivered again: at least once, not exactly once...
    expect(receipts.get(inFlightAtCrash ?? "")).toBeGreaterThanOrEqual(2);
    expect(total()).toBeGreaterThan(N);
    // ...and the idempotent subscriber applied each effect once.
    expect([...effects].sort()).toEqual([...ids].sort());
  });
});
