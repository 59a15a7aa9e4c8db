import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uiHarness } from "./harness.ts";
import { EventsTable } from "../../../pages/events/routes.tsx";
import type { Session, UiHarness } from "./harness.ts";

let h: UiHarness;
let viewer: Session;
const probed: string[] = [];
beforeAll(async () => {
  h = await uiHarness({
    fetch: async (url) => {
      probed.push(url);
      if (url.startsWith("http://prom.example")) return new Response("ready", { status: 200 });
      throw new TypeError("fetch failed");
    },
  });
  viewer = await h.as("viewer");
});
afterAll(() => h.close());

describe("home", () => {
  it("shows each component's health, outside links when configured, and the last events", async () => {
    const html = await (await viewer.get("/")).text();
    expect(html).toContain('<div class="card" data-component="broker"><strong class="health-ok">broker</strong>');
    expect(html).toContain('<strong class="health-bad">serving</strong><div class="muted">model iris loading</div>');
    expect(html).toContain('<a href="http://prom.example:9090" rel="noopener">Prometheus</a>');
    expect(html).toContain('data-component="grafana"><strong class="health-off">Grafana</strong><div class="muted">not configured</div>');
    // Probed through the injected fetch: Prometheus answers /-/ready, the tracing UI is down.
    expect(probed).toEqual(expect.arrayContaining(["http://prom.example:9090/-/ready", "http://jaeger.example/"]));
    expect(html).toContain('data-component="prometheus"><strong class="health-ok">Prometheus</strong><div class="muted"><a href="http://prom.example:9090" rel="noopener">reachable</a>');
    expect(html).toContain('data-component="tracing"><strong class="health-bad">Tracing</strong><div class="muted"><a href="http://jaeger.example" rel="noopener">unreachable</a>');
    expect(html).toContain("model.logged");
  });

  it("sends anonymous browsers to the login page", async () => {
    const res = await h.anonymous().get("/");
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/login?next=%2F");
  });
});

describe("events and drift", () => {
  it("has a trace column only when a tracing UI is configured, and otherwise says once where trace ids are", async () => {
    const events = [1, 2].map((i) => ({ id: `e${i}`, source: "/t", type: "dev.flywheel.model.logged", subject: undefined, receivedAt: 0, event: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } }));
    const off = String(await EventsTable({ events, tracing: undefined }));
    expect(off).not.toContain("<th>Trace</th>");
    expect(off.match(/<td/g)?.length).toBe(10);
    expect(off.match(/id="no-tracing"/g)?.length).toBe(1);
    const on = String(await EventsTable({ events, tracing: "http://jaeger.example/" }));
    expect(on).toContain("<th>Trace</th>");
    expect(on.match(/<td/g)?.length).toBe(12);
    expect(on).not.toContain("no-tracing");
  });

  it("lists events with a trace link, alerts, escaped retrain decisions and drift bars", async () => {
    const html = await (await viewer.get("/activity")).text();
    expect(html).toContain('href="http://jaeger.example/trace/0af7651916cd43dd8448eb211c80319c"');
    expect(html).toContain("<strong>ModelDriftDetected</strong> firing");
    expect(html).toContain("cooldown (&lt;b&gt;last retrain 5m ago&lt;/b&gt;)");
    expect(html).toContain('data-drift="iris/2"');
    expect(html).toContain('aria-label="Drift scores of iris v2 now');
    expect(html).toContain("<text x=\"4\" y=\"20\">petal_length</text>");
    expect(html).toContain('fill="#c62828"');
  });

  it("filters events by type", async () => {
    const html = await (await viewer.get("/activity?type=dev.flywheel.model.logged")).text();
    const table = html.slice(html.indexOf('<table id="events">'));
    expect(table).toContain("model.logged");
    expect(table).not.toContain("retrain.decided");
  });

  it("replays and discards dead letters by POST, for mlops engineers only", async () => {
    const html = await (await viewer.get("/activity")).text();
    expect(html).toContain('action="/activity/dead-letters/dl1/replay"');
    expect((await viewer.post("/activity/dead-letters/dl1/replay", {})).status).toBe(403);
    expect((await viewer.get("/activity/dead-letters/dl1/replay")).status).toBe(404);
    const ops = await h.as("mlops-engineer");
    expect((await ops.post("/activity/dead-letters/dl1/replay", {})).status).toBe(303);
    expect((await ops.post("/activity/dead-letters/dl1/discard", {})).status).toBe(303);
    expect((await ops.post("/activity/dead-letters/dl1/discard", {}, { csrf: false })).status).toBe(403);
    expect(h.fakes.replayed).toEqual(["dl1"]);
    expect(h.fakes.discarded).toEqual(["dl1"]);
  });
});

describe("static assets and headers", () => {
  it("serves htmx from the package, with no CDN reference in pages", async () => {
    const js = await h.anonymous().get("/static/htmx.min.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await js.text()).toContain("htmx");
    const html = await (await viewer.get("/")).text();
    expect(html).not.toMatch(/https?:\/\/(unpkg|cdn|cdnjs|jsdelivr)/);
    expect((await h.anonymous().get("/static/../../etc/passwd")).status).toBe(404);
  });

  it("marks pages no-store and unframeable", async () => {
    const res = await viewer.get("/");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
  });
});
