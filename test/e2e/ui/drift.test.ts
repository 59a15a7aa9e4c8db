// Drift on the activity page in Chromium: Iris is trained and served, normal then shifted traffic makes a history
// chart per feature and a badge that says what drifted; after a restart on the same data dir the chart is still there,
// marked with when it was last scored (drift history lives in the StateStore, not in process memory).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, openBrowser, type Browser } from "../../support/ui-browser.ts";
import { startTestPlatform, until, type TestPlatform } from "../../support/platform.ts";
import { FEATURES, loadIris, rng } from "../../../examples/iris-node/data.ts";
import { irisCommand } from "./iris.ts";

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-ui-drift-"));
let p: TestPlatform | undefined;
let b: Browser | undefined;
afterAll(async () => {
  await b?.close();
  await p?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** n Iris rows as records, petal length shifted by `shift` cm. */
function rows(n: number, shift: number, seed: number): Record<string, number>[] {
  const iris = loadIris();
  const rand = rng(seed);
  return Array.from({ length: n }, () => {
    const x = iris[Math.floor(rand() * iris.length)]?.x ?? [];
    return Object.fromEntries(FEATURES.map((f, j) => [f, (x[j] ?? 0) + (f === "petal_length" ? shift : 0)]));
  });
}

/** Open the activity page, logging in first when the session cookie does not (yet) hold. */
async function activity(page: Browser["page"], url: string): Promise<void> {
  await page.goto(`${url}/activity`);
  if (new URL(page.url()).pathname !== "/login") return;
  await page.fill("#token", ADMIN_TOKEN);
  await page.click("button[type=submit]");
  await page.waitForURL(`${url}/activity`);
}

describe("drift history in the browser", () => {
  it("draws a chart per feature with a badge that says what drifted, and keeps it across a restart", async () => {
    p = await startTestPlatform({ FLYWHEEL_AUTH_TOKEN: ADMIN_TOKEN }, dataDir);
    const platform = p;
    await platform.api.request("POST", "/api/v1/jobs", { kind: "single", model: "iris", experiment: "iris", command: irisCommand().split("\n"), params: { epochs: "60" }, timeoutSeconds: 300 });
    await until("iris served", async () => (await platform.platform.serving.get("iris"))?.state === "ready" || undefined, 150_000, 500);
    const infer = async (body: unknown): Promise<void> => {
      const res = await platform.api.raw("POST", "/infer/iris", body);
      expect(res.status).toBe(200);
    };
    // Normal traffic first (one point below the threshold), then shifted petals (a point above it).
    await infer(rows(600, 0, 1));
    await platform.platform.drift.flush();
    await infer(rows(1000, 1.5, 2));
    await platform.platform.drift.flush();

    b = await openBrowser({ javaScript: true });
    const { page } = b;
    await activity(page, platform.url);
    const card = page.locator('[data-drift="iris/1"]');
    for (let i = 0; i < 40 && !(await page.locator("#drift-history-iris-1").count()); i++) {
      await page.waitForTimeout(250);
      await page.reload();
    }
    expect(await card.locator('[data-drifted="true"]').textContent()).toContain("petal_length above 0.2");
    expect(await page.locator('#drift-history-iris-1 [data-series="petal_length"]').count()).toBe(1);
    expect(await page.locator('#drift-history-iris-1 [data-series="sepal_width"]').count()).toBe(1);
    await b.shot("drift-01-history");

    // A restart on the same data dir: the monitor's windows are empty, the chart comes back from the StateStore.
    await platform.stop();
    p = undefined;
    p = await startTestPlatform({ FLYWHEEL_AUTH_TOKEN: ADMIN_TOKEN }, dataDir);
    const again = p;
    await until("iris restored", async () => (await again.platform.serving.get("iris"))?.state === "ready" || undefined, 60_000, 250);
    await activity(page, again.url);
    expect(await page.locator('[data-drift="iris/1"] [data-stale="true"]').textContent()).toContain("last scored");
    expect(await page.locator('[data-drift="iris/1"] [data-drifted="true"]').count()).toBe(1);
    expect(await page.locator('#drift-history-iris-1 [data-series="petal_length"]').count()).toBe(1);
    await b.shot("drift-02-after-restart");
  }, 240_000);
});
