// The same launch and infer flow with JavaScript disabled: plain forms, server-side row edits, self-refreshing pages.
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, useUiBrowser, reloadUntil } from "../../support/ui-browser.ts";
import { irisCommand } from "./iris.ts";

const ui = useUiBrowser({ javaScript: false });

describe("the UI flow without JavaScript", () => {
  it("logs in, launches Iris, follows it to success, and predicts from the form", async () => {
    const { p, b, page } = ui;
    await page.goto(`${p.url}/training`);
    // Page scripts never ran: htmx did not install itself.
    expect(await page.evaluate(() => "htmx" in window)).toBe(false);
    // The login form's error path: a wrong token is refused with a message, on the login page, nothing else shown.
    await page.fill("#token", "not-the-token");
    await page.click("button[type=submit]");
    await page.waitForSelector("#login-error");
    expect(new URL(page.url()).pathname).toBe("/login");
    expect((await page.locator("#login-error").textContent())?.trim().length).toBeGreaterThan(5);
    await b.shot("nojs-00-login-refused");
    await page.fill("#token", ADMIN_TOKEN);
    await page.click("button[type=submit]");
    await page.waitForURL(`${p.url}/training`);

    await page.fill("#model", "iris");
    await page.fill("#command", irisCommand());
    await page.fill('input[name="param_key_0"]', "epochs");
    await page.fill('input[name="param_value_0"]', "150");
    // Without JavaScript "Add parameter" is a submit button: the server re-renders the form with one more row.
    await page.click("text=Add parameter");
    await page.waitForSelector('input[name="param_key_1"]');
    expect(await page.inputValue('input[name="param_value_0"]')).toBe("150");
    await page.fill('input[name="param_key_1"]', "lr");
    await page.fill('input[name="param_value_1"]', "0.1");
    // A server-side validation error first, shown at the field.
    await page.fill("#model", "Iris Model");
    await page.click("#launch");
    expect(await page.locator('.field-error[data-field="model"]').textContent()).toBe("must be lowercase alphanumeric or '-', starting and ending alphanumeric");
    expect(await page.inputValue('input[name="param_key_1"]')).toBe("lr");
    await b.shot("nojs-01-validation");
    await page.fill("#model", "iris");
    await page.fill("#timeoutSeconds", "300");
    await page.click("#launch");
    await page.waitForURL(/\/training\/jobs\/iris-[0-9a-f]+\?requested=1$/);

    await reloadUntil(page, "the job to succeed", async () => (await page.locator("#job-live").count()) > 0 && (await page.locator("#job-live").getAttribute("data-state")) === "succeeded");
    expect(Number(await page.locator("#progress-chart").getAttribute("data-points"))).toBeGreaterThan(10);
    expect((await page.locator("#logs").textContent())?.length).toBeGreaterThan(0);
    await b.shot("nojs-02-job");

    // The gate promotes the first version and deploy-model rolls out the deployment named after the model.
    await page.goto(`${p.url}/playground?deployment=iris`);
    await reloadUntil(page, "the iris deployment", async () => (await page.locator('[data-feature="sepal_length"]').count()) > 0);
    await page.fill('[data-feature="sepal_length"]', "6.7");
    await page.fill('[data-feature="sepal_width"]', "3.0");
    await page.fill('[data-feature="petal_length"]', "5.2");
    await page.fill('[data-feature="petal_width"]', "2.3");
    await page.click("#predict");
    await page.waitForSelector("#prediction");
    expect(await page.locator("#prediction").textContent()).toBe("virginica");
    expect(await page.locator("#v2-response").textContent()).toContain('"model_name": "iris"');
    expect(await page.locator("#probabilities tr.top td").first().textContent()).toBe("virginica");
    await b.shot("nojs-03-prediction");

    // A sentence the parser cannot read: the page comes back with the reason at the field (a 4xx, never a blank).
    await page.fill("#text", "a pretty flower");
    await page.click('button:has-text("Ask")');
    await page.waitForSelector('#result [role="alert"]');
    expect(await page.locator('.field-error[data-field="text"]').count()).toBe(1);
    await b.shot("nojs-04-nl-error");

    // The launch form shows the fields of the chosen kind once asked (no script to do it live).
    await page.goto(`${p.url}/training`);
    expect(await page.locator("#replicas").isVisible()).toBe(false);
    await page.selectOption("#kind", "ddp");
    await page.click('button:has-text("Show the fields for this kind")');
    await page.waitForSelector("#replicas");
    expect(await page.locator("#replicas").isVisible()).toBe(true);
    await b.shot("nojs-05-ddp-fields");
  }, 150_000);
});
