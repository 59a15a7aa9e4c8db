import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEventAs } from "../../../platform/events/envelope.ts";
import { fieldErrors, uiHarness } from "./harness.ts";
import type { Session, UiHarness } from "./harness.ts";

let h: UiHarness;
let viewer: Session;
beforeAll(async () => {
  h = await uiHarness({ runs: 130 });
  viewer = await h.as("viewer");
});
afterAll(() => h.close());

describe("experiments and runs", () => {
  it("lists experiments", async () => {
    const html = await (await viewer.get("/registry")).text();
    expect(html).toContain('<a href="/registry/experiments/1">iris</a>');
  });

  it("shows a page of runs with metric and param columns, newest first by default", async () => {
    const html = await (await viewer.get("/registry/experiments/1")).text();
    expect(h.fakes.searchRunsCalls.at(-1)).toEqual({ orderBy: ["attributes.start_time DESC"], pageToken: undefined, maxResults: 50 });
    expect((html.match(/href="\/registry\/runs\//g) ?? []).length).toBe(50);
    expect(html.indexOf("run-129")).toBeLessThan(html.indexOf("run-128"));
    for (const col of ["accuracy", "loss", "lr", "epochs"]) expect(html).toContain(`>${col}</a></th>`);
    expect(html).toContain('href="/registry/experiments/1?sort=attributes.start_time&amp;dir=DESC&amp;limit=50&amp;page_token=50" rel="next"'.replace(' rel="next"', ""));
  });

  it("sorts by a metric through MLflow order_by and toggles the direction", async () => {
    const html = await (await viewer.get("/registry/experiments/1?sort=metrics.accuracy&dir=DESC&limit=10")).text();
    expect(h.fakes.searchRunsCalls.at(-1)?.orderBy).toEqual(["metrics.accuracy DESC"]);
    expect(html).toContain('aria-sort="descending"');
    expect(html).toContain('href="/registry/experiments/1?sort=metrics.accuracy&amp;dir=ASC&amp;limit=10">accuracy ▼</a>');
    const first = /href="\/registry\/runs\/(run\d+)"/.exec(html)?.[1];
    expect(first && h.fakes.runs.find((r) => r.runId === first)?.metrics.accuracy).toBe(0.99);
  });

  it("ignores sort keys that are not metrics, params or known attributes", async () => {
    await viewer.get("/registry/experiments/1?sort=drop%20table&dir=ASC");
    expect(h.fakes.searchRunsCalls.at(-1)?.orderBy).toEqual(["attributes.start_time ASC"]);
  });

  it("follows the next-page token", async () => {
    const html = await (await viewer.get("/registry/experiments/1?limit=50&page_token=100")).text();
    expect(h.fakes.searchRunsCalls.at(-1)?.pageToken).toBe("100");
    expect((html.match(/href="\/registry\/runs\//g) ?? []).length).toBe(30);
    expect(html).not.toContain('rel="next"');
    expect(html).toContain("First page");
  });

  it("shows a run with params, tags and a chart per metric", async () => {
    const html = await (await viewer.get("/registry/runs/run00003")).text();
    expect(html).toContain('aria-label="accuracy per step"');
    expect(html).toContain('aria-label="loss per step"');
    // Drawn from the history: three steps, real axes, the final value in the legend.
    expect(html).toContain('data-series="loss" data-drawn="3" data-final="0.3333333333333333"');
    expect(html).toContain('<text class="axis-label" x="320" y="254" text-anchor="middle">step</text>');
    expect(html).toContain("<th>lr</th>");
  });

  it("renders a registry 404 as a page, not a crash", async () => {
    const res = await viewer.get("/registry/runs/missing");
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("run missing does not exist");
  });
});

describe("models, versions, promotion", () => {
  it("lists models with aliases", async () => {
    const html = await (await viewer.get("/models")).text();
    expect(html).toContain('<span class="badge">champion → v2</span>');
  });

  it("lists versions newest first with aliases, gate and trigger", async () => {
    const html = await (await viewer.get("/models/iris")).text();
    expect(html.indexOf('data-version="2"')).toBeLessThan(html.indexOf('data-version="1"'));
    expect(html).toContain("accuracy 0.92 vs champion 0.91");
    expect(html).toContain("<td>drift</td>");
  });

  it("shows a version's lineage, gate reasons and a deploy link", async () => {
    const html = await (await viewer.get("/models/iris/versions/2")).text();
    expect(html).toContain('href="/deployments/new?kind=model&amp;model=iris&amp;version=2&amp;name=iris-v2"');
    expect(html).toContain("accuracy 0.92 beats champion 0.91");
    expect(html).toContain("&quot;reason&quot;: &quot;drift&quot;");
    expect(html).toContain('href="/training/jobs/job-00002"');
  });

  it("labels lineage events for humans, keeping the wire type as secondary text and tooltip", async () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5);
    h.fakes.stored.push({ id: "lin-1", source: "/test", type: "dev.flywheel.model.promoted", subject: undefined, receivedAt: at, event: { data: { model: "iris", version: "2" } } });
    const html = await (await viewer.get("/models/iris/versions/2")).text();
    const node = /<g data-kind="event">([\s\S]*?)<\/g>/.exec(html)?.[1] ?? "";
    expect(node).toContain("<title>model.promoted at 2026-01-02T03:04:05.000Z</title>");
    expect(node).toContain(">Promoted to champion</text>");
    expect(node).toContain("03:04:05 · model.pro");
    h.fakes.stored.pop();
  });

  it("promotes and rolls back through model.promotion.requested (mlops-engineer only)", async () => {
    const ops = await h.as("mlops-engineer");
    // v1 scores worse than the champion (0.91 < 0.92): the comparison is shown and nothing is emitted until confirmed.
    const before = h.fakes.emitted.length;
    const ask = await ops.post("/models/iris/promote", { version: "1" });
    expect(ask.status).toBe(200);
    const askHtml = await ask.text();
    expect(askHtml).toContain('id="confirm-promotion"');
    expect(askHtml).toMatch(/<th scope="row">accuracy<\/th><td class="num">0.91<\/td><td class="num">0.92<\/td>/);
    expect(h.fakes.emitted.length).toBe(before);
    const res = await ops.post("/models/iris/promote", { version: "1", confirm: "yes" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toMatch(/^\/models\/iris\?requested=Promotion\+of\+v1&expect=1&until=\d+$/);
    const ev = h.fakes.emitted.at(-1);
    expect(ev && parseEventAs("model.promotion.requested", ev).data).toEqual({ model: "iris", action: "promote", version: "1", user: "mo" });
    // Rollback always asks first.
    expect(await (await ops.post("/models/iris/rollback", {})).text()).toContain("Yes, roll back to v1");
    await ops.post("/models/iris/rollback", { confirm: "yes" });
    const rb = h.fakes.emitted.at(-1);
    expect(rb && parseEventAs("model.promotion.requested", rb).data).toEqual({ model: "iris", action: "rollback", user: "mo" });
    const n = h.fakes.emitted.length;
    expect((await viewer.post("/models/iris/promote", { version: "1" })).status).toBe(403);
    expect((await (await h.as("data-scientist")).post("/models/iris/rollback", {})).status).toBe(403);
    expect((await ops.post("/models/iris/promote", { version: "x" })).status).toBe(400);
    expect(h.fakes.emitted.length).toBe(n);
  });
});

describe("runs search, columns, comparison", () => {
  it("passes an MLflow filter to the registry and keeps it in the links", async () => {
    const html = await (await viewer.get("/registry/experiments/1?filter=metrics.accuracy+%3E+0.5")).text();
    expect(h.fakes.searchRunsCalls.at(-1)?.filter).toBe("metrics.accuracy > 0.5");
    expect(html).toContain('value="metrics.accuracy &gt; 0.5"');
    expect(html).toMatch(/href="[^"]*filter=metrics.accuracy\+%3E\+0.5/);
  });

  it("shows a filter the registry refuses at the search box, not as an error page", async () => {
    const res = await viewer.get("/registry/experiments/1?filter=metrics.x+!!+1");
    expect(res.status).toBe(200);
    expect(fieldErrors(await res.text(), "filter")).toEqual(["invalid input: filter: Invalid filter: unexpected '!!'"]);
  });

  it("shows only the chosen columns", async () => {
    const html = await (await viewer.get("/registry/experiments/1?col=params.lr")).text();
    expect(html).toContain(">lr<");
    expect(html).not.toContain(">accuracy<");
    expect(html).toContain('<input type="checkbox" name="col" value="metrics.accuracy"/>');
    expect(html).toContain('<input type="checkbox" name="col" value="params.lr" checked=""/>');
  });

  it("compares runs side by side with a parallel-coordinates chart", async () => {
    const html = await (await viewer.get("/registry/compare?runs=run00001&runs=run00002")).text();
    expect(html).toContain('id="parallel"');
    expect((html.match(/<path [^>]*data-run="run0000[12]"/g) ?? []).length).toBe(2);
    expect(html).toContain('data-axis="params.lr"');
    expect(html).toContain('data-axis="metrics.accuracy"');
    expect(html).toMatch(/<tr data-metric="accuracy"><th scope="row">accuracy<\/th><td class="num">0.01<\/td><td class="num best">0.02<\/td><\/tr>/);
    expect(html).toContain('<tr data-param="lr" class="differs">');
  });

  it("asks for two runs", async () => {
    expect((await viewer.get("/registry/compare?runs=run00001")).status).toBe(400);
  });
});
