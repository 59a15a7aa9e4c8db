// The whole loop as a first-time user walks it in Chromium (JavaScript on), with a screenshot per screen and the error
// paths: first-run home, launch from the shipped example, bad YAML, job progress and links, run history and artifacts,
// gate verdicts, a worse version promoted only after the comparison (live refresh), rollback, deploy-name protection, a
// failed pipeline, A/B traffic, playground probabilities and a refused sentence and JSON request, a long job chart thinned not cut, events, comparison and search.
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, useUiBrowser } from "../../support/ui-browser.ts";

const ui = useUiBrowser({ javaScript: true });

describe("the loop, screen by screen", () => {
  it("guides, trains, explains the gate, confirms risky actions, shows failures and traffic", async () => {
    const { p, b, page } = ui;
    const url = (path: string): string => `${p.url}${path}`;
    const waitFor = async (what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> => {
      const end = Date.now() + ms;
      while (!(await check())) {
        if (Date.now() > end) {
          await b.shot(`failure-${what.replace(/\W+/g, "-")}`);
          throw new Error(`timed out waiting for ${what}`);
        }
        await page.waitForTimeout(300);
      }
    };
    await page.goto(url("/login"));
    await page.fill("#token", ADMIN_TOKEN);
    await page.click("button[type=submit]");
    await page.waitForURL(url("/"));

    // Home: a new install says what to do first.
    expect(await page.locator("#first-steps").isVisible()).toBe(true);
    // No outside UI configured: the section says how to link them instead of standing empty.
    expect(await page.locator("#links").textContent()).toContain("None linked. Set FLYWHEEL_MLFLOW_UI_URL");
    await b.shot("walk-01-home-first-run");

    // Launch: bad YAML names its line; the shipped example fills the form; only the chosen kind's fields show.
    await page.goto(url("/training"));
    await page.fill("#yaml", "kind: single\nmodel: [iris\nparams: {epochs: 5}\n");
    await page.click("#use-yaml");
    expect(await page.locator('.field-error[data-field="yaml"]').textContent()).toMatch(/^line 3, column 1: /);
    await b.shot("walk-02-launch-bad-yaml");
    await page.click('[data-example="iris-node"]');
    await page.waitForURL(/example=iris-node/);
    expect(await page.inputValue("#model")).toBe("iris");
    expect(await page.locator("#replicas").isVisible()).toBe(false);
    await page.selectOption("#kind", "ddp");
    expect(await page.locator("#replicas").isVisible()).toBe(true);
    await page.selectOption("#kind", "single");
    await b.shot("walk-03-launch-example");
    await page.click("#launch");
    await page.waitForURL(/\/training\/jobs\/iris-[0-9a-f]+\?requested=1$/);
    const job1 = new URL(page.url()).pathname;

    // Job: progress with its own axes, % done, then links to the run and the version it produced.
    await page.waitForSelector('#job-live[data-state="succeeded"]', { timeout: 90_000 });
    expect(await page.locator("#job-eta").textContent()).toContain("100% done (step 300 of 300)");
    expect(await page.locator('#progress-chart [data-series="accuracy"] .legend').textContent()).toContain("(right axis)");
    await waitFor("job 1's version link", async () => {
      await page.reload();
      return (await page.locator("#job-version").count()) > 0;
    });

    await b.shot("walk-04-job");

    // Run: the trainer's per-epoch history drawn per step with the final value; artifacts browsable.
    await page.click("#job-run");
    await page.waitForSelector("#metric-train_loss");
    expect(Number(await page.locator("#metric-train_loss").getAttribute("data-points"))).toBeGreaterThan(100);
    await b.shot("walk-05-run");
    await page.click("#run-artifacts");
    await page.click('a[href$="path=metrics.json"]');
    expect(await page.locator('[data-preview="json"]').textContent()).toContain('"accuracy"');
    // Download: the same file as an attachment, byte for byte what the preview shows.
    const download = await page.request.get(new URL((await page.locator("#download").getAttribute("href")) ?? "/missing", page.url()).toString());
    expect(download.status()).toBe(200);
    expect(download.headers()["content-disposition"]).toMatch(/^attachment; filename="metrics.json"/);
    expect(JSON.parse(await download.text())).toHaveProperty("accuracy");
    await b.shot("walk-06-artifact");

    // Version: the gate's verdict, the lineage graph and where it runs.
    await page.goto(url("/models/iris/versions/1"));
    const reloadAndCount = async (sel: string): Promise<boolean> => {
      await page.reload();
      return (await page.locator(sel).count()) > 0;
    };
    await waitFor("v1's verdict", () => reloadAndCount('#gate-verdict[data-passed="true"]'));
    await waitFor("v1 deployed as iris", () => reloadAndCount('#version-deployments a[href="/deployments/iris"]'));
    expect(await page.locator("#lineage [data-kind]").count()).toBeGreaterThanOrEqual(6);
    expect(await page.locator("#deploy-version").textContent()).toBe("Deploy this version as iris-v1");
    // The version links back to the job and the run that produced it.
    expect(await page.locator("#version-job").getAttribute("href")).toBe(job1);
    expect(await page.locator("#version-run").getAttribute("href")).toMatch(/^\/registry\/runs\/[0-9a-f]+$/);
    await b.shot("walk-07-version");

    // A worse version: clone the job with a learning rate too small to learn anything; the gate rejects it and says
    // why. Its 900 epochs are more than the job chart's point budget (MAX_DRAWN = 400): thinned, never cut.
    await page.goto(url(job1));
    await page.click("#clone");
    await page.fill('input[name="param_value_0"]', "900");
    await page.fill('input[name="param_value_1"]', "0.00001");
    await page.click("#launch");
    await page.waitForURL(/\/training\/jobs\/iris-[0-9a-f]+\?requested=1$/);
    await page.waitForSelector('#job-live[data-state="succeeded"]', { timeout: 90_000 });
    expect(await page.locator("#job-eta").textContent()).toContain("100% done (step 900 of 900)");
    for (const series of ["loss", "accuracy"]) {
      const g = page.locator(`#progress-chart [data-series="${series}"]`);
      expect(Number(await g.getAttribute("data-drawn"))).toBeLessThanOrEqual(400);
      expect(Number(await g.getAttribute("data-drawn"))).toBeGreaterThan(100);
      expect(await g.getAttribute("data-last-x")).toBe("900");
      expect(Number(await g.getAttribute("data-first-x"))).toBeLessThanOrEqual(1);
    }

    await page.goto(url("/models/iris"));
    await waitFor("v2's verdict", () => reloadAndCount('[data-version="2"] .badge.failed'));
    await b.shot("walk-08-model-versions");
    // The rejected version's page says why, in the gate's own words (the event's reason, not "no result recorded").
    await page.goto(url("/models/iris/versions/2"));
    expect(await page.locator('#gate-verdict[data-passed="false"] .reasons').textContent()).toMatch(/accuracy [\d.]+ (is below the floor|vs champion)/);
    await page.goto(url("/models/iris"));

    // Promote v2 anyway: the comparison first, then a live refresh (no reload) once champion moves.
    await page.click('[data-version="2"] button:has-text("Promote")');
    await page.waitForSelector("#confirm-promotion");
    expect(await page.locator("#confirm-promotion").textContent()).toContain("The evaluation gate rejected this version");
    await b.shot("walk-09-confirm-promotion");
    await page.click("#confirm");
    await page.waitForSelector('#versions-live[data-champion="2"]', { timeout: 30_000 });
    await b.shot("walk-10-promoted-live");
    await page.click("#rollback");
    await page.waitForSelector("#confirm-promotion");
    await page.click("#confirm");
    await page.waitForSelector('#versions-live[data-champion="1"]', { timeout: 30_000 });

    // Deploy v2: the form does not reuse the production name; typing it asks first.
    await page.goto(url("/models/iris/versions/2"));
    await page.click("#deploy-version");
    expect(await page.inputValue("#name")).toBe("iris-v2");
    await page.fill("#name", "iris");
    await page.click("#deploy");
    await page.waitForSelector('.field-error[data-field="name"]');
    expect(await page.locator('.field-error[data-field="name"]').textContent()).toContain("iris already serves iris v1");
    await b.shot("walk-11-deploy-name-taken");
    await page.fill("#name", "iris-v2");
    await page.click("#deploy");
    await page.waitForURL(url("/deployments/iris-v2"));
    await page.waitForSelector('#deployment[data-state="ready"]', { timeout: 60_000 });

    // A pipeline naming a model that does not exist fails, with the reason, in the list and on its page.
    await page.goto(url("/deployments/new?kind=pipeline"));
    await page.fill("#name", "chain");
    await page.fill('input[name="step_name_0"]', "no-such-model");
    await page.click("#deploy");
    await page.waitForURL(url("/deployments/chain"));
    await page.waitForSelector('#deployment[data-state="failed"]', { timeout: 30_000 });
    const reason = await page.locator("#deployment-reason").textContent();
    expect(reason).toMatch(/\w+: .+/);
    await b.shot("walk-12-deployment-failed");
    await page.goto(url("/deployments"));
    expect(await page.locator('[data-deployment="chain"][data-state="failed"]').count()).toBe(1);

    // A/B: an experiment of the two versions, some predictions, then requests and latency per arm.
    await page.goto(url("/deployments/new?kind=experiment"));
    await page.fill("#name", "iris-ab");
    await page.fill('input[name="cand_name_0"]', "iris");
    await page.fill('input[name="cand_weight_0"]', "50");
    await page.fill('input[name="cand_name_1"]', "iris-v2");
    await page.fill('input[name="cand_weight_1"]', "50");
    await page.click("#deploy");
    await page.waitForSelector('#deployment[data-state="ready"]', { timeout: 60_000 });
    await page.goto(url("/playground?deployment=iris-ab"));
    for (let i = 0; i < 6; i++) {
      await page.fill('[data-feature="sepal_length"]', "6.7");
      await page.fill('[data-feature="sepal_width"]', "3.0");
      await page.fill('[data-feature="petal_length"]', String(1 + i * 0.8));
      await page.fill('[data-feature="petal_width"]', "2.3");
      await page.click("#predict");
      await page.waitForSelector("#probabilities");
    }
    await page.goto(url("/deployments/iris-ab"));
    const requests = await page.locator("#traffic-table tbody tr td:nth-child(3)").allTextContents();
    expect(requests.map(Number).reduce((a, n) => a + n, 0)).toBe(6);
    await b.shot("walk-13-ab-traffic");

    // Playground: label and probabilities as a table; a sentence it cannot read is shown, not swallowed.
    await page.goto(url("/playground?deployment=iris"));
    await page.fill('[data-feature="sepal_length"]', "5.1");
    await page.fill('[data-feature="sepal_width"]', "3.5");
    await page.fill('[data-feature="petal_length"]', "1.4");
    await page.fill('[data-feature="petal_width"]', "0.2");
    await page.click("#predict");
    await page.waitForSelector("#probabilities");
    expect(await page.locator("#probabilities tbody tr.top td").first().textContent()).toBe("setosa");
    await b.shot("walk-14-playground");
    await page.fill("#text", "a flower I saw yesterday");
    await page.click('button:has-text("Ask")');
    await page.waitForSelector('#result [role="alert"]');
    expect((await page.locator('#result [role="alert"]').textContent())?.length).toBeGreaterThan(5);
    await b.shot("walk-15-playground-nl-error");
    // The JSON request: htmx's non-2xx answers are shown, both the page's own 422 and the model server's refusal.
    const sendJson = async (): Promise<{ status: number; alert: string }> => {
      const before = await page.locator('#result [role="alert"]').textContent();
      const answer = page.waitForResponse((r) => r.url().endsWith("/playground/raw"));
      await page.click("#send-json");
      const status = (await answer).status();
      await page.waitForFunction((prev) => {
        const a = document.querySelector('#result [role="alert"]');
        return a !== null && a.textContent !== prev;
      }, before);
      return { status, alert: (await page.locator('#result [role="alert"]').textContent()) ?? "" };
    };
    expect(await page.locator('label[for="raw"]').textContent()).toBe("Request as JSON (Open Inference Protocol V2)");
    const template = await page.inputValue("#raw");
    await page.fill("#raw", "{ not json");
    expect(await sendJson()).toEqual({ status: 422, alert: "The JSON request is not valid: it needs an inputs array." });
    // The template, filled in, under an input name the model does not have: the model server's 4xx is shown.
    const wrong = template.replace(/"name": "[^"]+"/, '"name": "no_such_input"').replace('"data": []', '"data": [5.1, 3.5, 1.4, 0.2]');
    await page.fill("#raw", wrong);
    const refused = await sendJson();
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.alert).toMatch(/\w/);
    expect(await page.locator("#prediction").count()).toBe(0);
    await b.shot("walk-15a-playground-json-error");

    // A single model's deployment page: its requests (direct and as an A/B arm), error rate and p50/p99.
    await page.goto(url("/deployments/iris"));
    const single = page.locator('#traffic-table tr[data-candidate="iris"]');
    expect(Number(await single.locator("td:nth-child(3)").textContent())).toBeGreaterThanOrEqual(1);
    expect(await single.locator("td:nth-child(5)").textContent()).toBe("0.0%");
    expect(await single.locator("td:nth-child(6)").textContent()).toMatch(/^[\d.,]+ ms$/);
    expect(await single.locator("td:nth-child(7)").textContent()).toMatch(/^[\d.,]+ ms$/);
    await b.shot("walk-15b-single-model-traffic");

    // Activity: short type filter, an event's payload, the note that no alert fires without Prometheus/Alertmanager.
    await page.goto(url("/activity?type=model.promoted"));
    expect(await page.locator("#events tbody tr").count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator("#alerting-note").textContent()).toContain("never raises an alert");
    await page.click("#events tbody tr:first-child a[data-event]");
    await page.waitForSelector("#event-payload");
    expect(await page.locator("#event-payload").textContent()).toContain('"model": "iris"');
    await b.shot("walk-16-event");
    await page.goto(url("/activity"));
    await b.shot("walk-17-activity");

    // Comparison and search over the two runs.
    const exp = (await p.platform.mlflow.getRun((await p.platform.registry.getModelVersion("iris", "1")).runId ?? "")).info.experiment_id;
    await page.goto(url(`/registry/experiments/${exp}`));
    await page.locator('#runs input[name="runs"]').nth(0).check();
    await page.locator('#runs input[name="runs"]').nth(1).check();
    await page.click("#compare");
    await page.waitForSelector("#parallel");
    expect(await page.locator("#parallel path[data-run]").count()).toBe(2);
    await b.shot("walk-18-compare");
    await page.goto(url(`/registry/experiments/${exp}`));
    await page.fill("#filter", "metrics.accuracy > 0.8");
    await page.click('#runs-search button:has-text("Search")');
    await page.waitForURL(/filter=/);
    expect(await page.locator('#runs input[name="runs"]').count()).toBe(1);
    await page.fill("#filter", "metrics.accuracy >>> 1");
    await page.click('#runs-search button:has-text("Search")');
    await page.waitForSelector('.field-error[data-field="filter"]');
    await b.shot("walk-19-search-error");
  }, 300_000);
});
