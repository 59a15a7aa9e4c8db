// A new user's path through the UI in a real browser: log in, train Iris from the form, watch logs and chart, open the
// new version, deploy it, predict from the form, and an experiment refused at 110 then deployed at 100.
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, useUiBrowser } from "../../support/ui-browser.ts";
import { irisCommand } from "./iris.ts";

const ui = useUiBrowser({ javaScript: true });

describe("the UI flow with JavaScript", () => {
  it("logs in, trains, watches, opens the version, deploys, predicts, and runs an experiment", async () => {
    const { p, b, page } = ui;
    await page.goto(`${p.url}/`);
    expect(new URL(page.url()).pathname).toBe("/login");
    await page.fill("#token", ADMIN_TOKEN);
    await page.click("button[type=submit]");
    await page.waitForURL(`${p.url}/`);
    await page.waitForSelector('[data-component="broker"] .health-ok');
    await b.shot("01-home");

    // Launch from the form: params as rows, one added in place by JavaScript.
    await page.goto(`${p.url}/training`);
    await page.fill("#model", "iris");
    await page.fill("#experiment", "iris");
    await page.fill("#command", irisCommand());
    await page.fill('input[name="param_key_0"]', "epochs");
    await page.fill('input[name="param_value_0"]', "200");
    await page.click("text=Add parameter");
    const rows = page.locator("#param-rows .rowline");
    expect(await rows.count()).toBe(2);
    await rows.nth(1).locator("input").nth(0).fill("lr");
    await rows.nth(1).locator("input").nth(1).fill("0.1");
    await page.fill("#timeoutSeconds", "300");
    await page.click("#launch");
    await page.waitForURL(/\/training\/jobs\/iris-[0-9a-f]+\?requested=1$/);
    await page.waitForSelector("#job-live", { timeout: 30_000 });
    const jobUrl = page.url();

    // Logs stream in and the chart updates until the job succeeds.
    try {
      await page.waitForFunction(() => (document.querySelector("#logs")?.textContent ?? "").trim().length > 0, undefined, { timeout: 60_000 });
    } catch (e) {
      await b.shot("failure-logs");
      throw e;
    }
    await page.waitForSelector('#job-live[data-state="succeeded"]', { timeout: 90_000 });
    await page.waitForFunction(() => Number(document.querySelector("#progress-chart")?.getAttribute("data-points") ?? "0") > 10);
    await page.waitForSelector('#logs[data-streaming="done"]', { timeout: 30_000 });
    expect(await page.locator("#logs").textContent()).not.toBe("");
    await b.shot("02-job-succeeded");

    // Open the new model version (log-model registers it shortly after the job ends).
    await page.goto(`${p.url}/models/iris`);
    for (let i = 0; i < 60 && !(await page.locator('[data-version="1"]').count()); i++) {
      await page.waitForTimeout(500);
      await page.reload();
    }
    await page.click('[data-version="1"] a');
    await page.waitForURL(`${p.url}/models/iris/versions/1`);
    expect(await page.locator("#training-spec").textContent()).toContain('"model": "iris"');
    expect(await page.locator("body").textContent()).toContain(new URL(jobUrl).pathname.split("/").pop() ?? "?");
    await b.shot("03-version");

    // Deploy it under its own name.
    await page.click("#deploy-version");
    await page.fill("#name", "iris-v1");
    await page.click("#deploy");
    await page.waitForURL(`${p.url}/deployments/iris-v1`);
    await page.waitForSelector('#deployment[data-state="ready"]', { timeout: 60_000 });
    await b.shot("04-deployed");

    // Predict from the form built from the model's metadata.
    await page.goto(`${p.url}/playground?deployment=iris-v1`);
    await page.fill('[data-feature="sepal_length"]', "5.1");
    await page.fill('[data-feature="sepal_width"]', "3.5");
    await page.fill('[data-feature="petal_length"]', "1.4");
    await page.fill('[data-feature="petal_width"]', "0.2");
    await page.click("#predict");
    await page.waitForSelector("#prediction");
    expect(await page.locator("#prediction").textContent()).toBe("setosa");
    expect(await page.locator("#v2-request").textContent()).toContain('"datatype": "FP32"');
    await b.shot("05-prediction");

    // An experiment whose weights make 110 is refused with the total shown; fixed to 100 it deploys.
    for (let i = 0; i < 60 && !(await p.platform.serving.get("iris")); i++) await page.waitForTimeout(500);
    await page.goto(`${p.url}/deployments/new?kind=experiment`);
    await page.fill("#name", "iris-ab");
    await page.fill('input[name="cand_name_0"]', "iris-v1");
    await page.fill('input[name="cand_weight_0"]', "90");
    await page.fill('input[name="cand_name_1"]', "iris");
    await page.fill('input[name="cand_weight_1"]', "20");
    expect(await page.locator("#weight-total").textContent()).toBe("110");
    await page.click("#deploy");
    await page.waitForSelector('.field-error[data-field="candidates"]');
    expect(await page.locator('.field-error[data-field="candidates"]').textContent()).toBe("weights must sum to 100, got 110 (iris-v1=90, iris=20)");
    await b.shot("06-experiment-refused");
    await page.fill('input[name="cand_weight_1"]', "10");
    expect(await page.locator("#weight-total").textContent()).toBe("100");
    await page.click("#deploy");
    await page.waitForURL(`${p.url}/deployments/iris-ab`);
    await page.waitForSelector('#deployment[data-state="ready"]', { timeout: 60_000 });
    await b.shot("07-experiment-deployed");
  }, 180_000);
});
