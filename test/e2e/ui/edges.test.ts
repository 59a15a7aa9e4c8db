// The items the walk does not reach, in Chromium: a dead letter's error body, an event's trace link, the runs
// table's column chooser, a refused deployment request in the list (failed, with the dead letter's reason), tables that scroll inside their card on a phone-sized screen, and the favicon.
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, useUiBrowser } from "../../support/ui-browser.ts";

const ui = useUiBrowser({ javaScript: true, env: { FLYWHEEL_TRACING_UI_URL: "http://jaeger.example" } });

describe("edges of the UI", () => {
  it("shows a dead letter's body, links an event to its trace, chooses run columns, scrolls tables on a phone and has a favicon", async () => {
    const { p, b, page, url } = ui;
    const mlflow = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
      const res = await p.api.raw("POST", `/api/2.0/mlflow/${path}`, body);
      expect(res.status).toBe(200);
      const parsed: unknown = await res.json();
      return typeof parsed === "object" && parsed !== null ? Object.fromEntries(Object.entries(parsed)) : {};
    };
    // Three runs with two metrics and two params each.
    const exp = String((await mlflow("experiments/create", { name: "edges" })).experiment_id);
    for (let i = 0; i < 3; i++) {
      const run = await mlflow("runs/create", { experiment_id: exp, run_name: `edge-${i}`, start_time: Date.now() });
      const runId = String(Object(Object(run.run).info).run_id);
      await mlflow("runs/log-batch", {
        run_id: runId,
        metrics: [{ key: "accuracy", value: 0.8 + i / 100, timestamp: Date.now(), step: 0 }, { key: "loss", value: 0.5 - i / 10, timestamp: Date.now(), step: 0 }],
        params: [{ key: "lr", value: String(0.1 / (i + 1)) }, { key: "a_rather_long_parameter_name_for_a_narrow_screen", value: "x".repeat(40) }],
      });
    }
    // A valid request deploy-model cannot honour (promote with no canary running): a 400 that is dead-lettered at once.
    const bad = await fetch(url("/events"), {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", "ce-specversion": "1.0", "ce-type": "dev.flywheel.deployment.requested", "ce-source": "/test", "ce-id": "edge-dead-1", "ce-traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
      body: JSON.stringify({ action: "promote", name: "no-such-deployment" }),
    });
    expect(bad.status).toBeLessThan(300);

    await ui.login("/activity");
    for (let i = 0; i < 60 && !(await page.locator("#dead-letters .dead-body").count()); i++) {
      await page.waitForTimeout(250);
      await page.reload();
    }
    expect(await page.locator("#dead-letters .dead-body").first().textContent()).toMatch(/no-such-deployment|canary/);
    await b.shot("edges-01-dead-letter");
    await page.goto(url("/activity/events/edge-dead-1"));
    expect(await page.locator("#trace-link").getAttribute("href")).toBe("http://jaeger.example/trace/0af7651916cd43dd8448eb211c80319c");

    // A deployment request that deploy-model refuses (a backend this platform does not run: a 4xx, dead-lettered, so no
    // deployment.failed is ever emitted) is listed as failed with the refusal from its dead letter, not pending forever.
    const refused = await fetch(url("/events"), {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", "ce-specversion": "1.0", "ce-type": "dev.flywheel.deployment.requested", "ce-source": "/test", "ce-id": "edge-refused-1" },
      body: JSON.stringify({ action: "deploy", spec: { kind: "model", name: "edge-refused", model: "iris" }, backend: "seldon" }),
    });
    expect(refused.status).toBeLessThan(300);
    await page.goto(url("/deployments"));
    const row = page.locator('[data-deployment="edge-refused"][data-state="failed"]');
    await row.waitFor();
    expect(await row.locator(".badge").textContent()).toContain("failed");
    expect(await row.textContent()).toContain("Refused by deploy-model (4");
    await b.shot("edges-01b-refused-deployment");

    // Column chooser: only loss.
    await page.goto(url(`/registry/experiments/${exp}`));
    await page.click("#columns summary");
    for (const box of await page.locator('#columns input[name="col"]').all()) if ((await box.getAttribute("value")) !== "metrics.loss") await box.uncheck();
    await page.check('#columns input[value="metrics.loss"]');
    await page.click('#columns button:has-text("Show these columns")');
    await page.waitForURL(/col=metrics.loss/);
    const head = await page.locator("#runs thead").textContent();
    expect(head).toContain("loss");
    expect(head).not.toContain("accuracy");
    await b.shot("edges-02-columns");

    // A phone: the page itself never scrolls sideways; the wide runs table scrolls inside its card.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(url(`/registry/experiments/${exp}?col=metrics.accuracy&col=metrics.loss&col=params.lr&col=params.a_rather_long_parameter_name_for_a_narrow_screen`));
    const widths = await page.evaluate(() => {
      const box = document.querySelector("#runs")?.closest(".scroll");
      return { page: document.documentElement.scrollWidth, viewport: window.innerWidth, inner: box ? box.scrollWidth : 0, card: box ? box.clientWidth : 0 };
    });
    expect(widths.page).toBeLessThanOrEqual(widths.viewport);
    expect(widths.inner).toBeGreaterThan(widths.card);
    await b.shot("edges-03-phone");
    await page.setViewportSize({ width: 1280, height: 900 });

    const icon = await page.locator('link[rel="icon"]').getAttribute("href");
    const res = await page.request.get(url(icon ?? "/missing"));
    expect(res.status()).toBe(200);
    expect(res.headers()["content-type"]).toContain("svg");
  }, 120_000);
});
