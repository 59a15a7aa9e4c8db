// /readyz asks the training and serving components for real (issue 17 item 11: both always said "ok").
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../../support/platform.ts";

let p: TestPlatform;
let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-ready-"));
  p = await startTestPlatform({}, dir);
}, 60_000);
afterAll(async () => {
  await p.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Ready { status: string; components: { name: string; ok: boolean; detail?: string }[] }
const readyz = async (): Promise<{ status: number; body: Ready }> => {
  const res = await fetch(`${p.url}/readyz`);
  return { status: res.status, body: (await res.json()) as Ready };
};

describe("/readyz", () => {
  it("is ready with every component checked", async () => {
    const r = await readyz();
    expect(r.status).toBe(200);
    expect(r.body.components.map((c) => [c.name, c.ok])).toEqual(expect.arrayContaining([["training", true], ["serving", true]]));
  });

  it("is not ready, naming training, when the job store cannot answer", async () => {
    await p.platform.training.close(); // closes the job database, as a broken disk would take it away
    const r = await readyz();
    expect(r.status).toBe(503);
    const training = r.body.components.find((c) => c.name === "training");
    expect(training?.ok).toBe(false);
    expect(training?.detail).toBeTruthy();
    expect(r.body.components.find((c) => c.name === "serving")?.ok).toBe(true);
  });
});
