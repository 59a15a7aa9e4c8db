import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEventAs } from "../../../platform/events/envelope.ts";
import { job } from "./fakes.ts";
import { fieldErrors, uiHarness } from "./harness.ts";
import type { Session, UiHarness } from "./harness.ts";

let h: UiHarness;
let ds: Session;
beforeAll(async () => {
  h = await uiHarness({ jobs: 120 });
  ds = await h.as("data-scientist");
});
afterAll(() => h.close());

const valid = {
  kind: "single",
  model: "iris",
  experiment: "iris",
  sourceKind: "command",
  command: "/usr/bin/node\nexamples/iris-node/train.ts",
  args: "--epochs\n30",
  param_key_0: "lr",
  param_value_0: "0.1",
  param_key_1: "seed",
  param_value_1: "7",
  timeoutSeconds: "600",
};

describe("launch form", () => {
  it("renders every field, the param rows and the CSRF token", async () => {
    const html = await (await ds.get("/training")).text();
    for (const name of ["kind", "model", "experiment", "sourceKind", "command", "args", "image", "sourcePath", "sourceGit", "sourceRef", "sourceEntry", "param_key_0", "param_value_0", "replicas", "procsPerReplica", "executors", "cpu", "memory", "gpu", "timeoutSeconds", "dataset"]) {
      expect(html).toContain(`name="${name}"`);
    }
    expect(html).toContain(`name="_csrf" value="${ds.csrf}"`);
    expect(html).toContain('<option value="ddp">ddp</option>');
    expect(html).toContain('<script src="/static/htmx.min.js" defer="">');
  });

  it("emits training.requested with the spec and opens the new job", async () => {
    const before = h.fakes.emitted.length;
    const res = await ds.post("/training", valid);
    expect(res.status).toBe(303);
    const ev = h.fakes.emitted[before];
    expect(ev).toBeDefined();
    if (!ev) return;
    expect(res.headers.get("location")).toBe(`/training/jobs/iris-for-${ev.id.slice(0, 8)}?requested=1`);
    const data = parseEventAs("training.requested", ev).data;
    expect(data).toMatchObject({
      kind: "single",
      model: "iris",
      experiment: "iris",
      command: ["/usr/bin/node", "examples/iris-node/train.ts"],
      args: ["--epochs", "30"],
      params: { lr: "0.1", seed: "7" },
      timeoutSeconds: 600,
      trigger: { reason: "manual", user: "dana" },
    });
    expect(ev.source).toBe("/flywheel/ui");
  });

  it("answers htmx with HX-Redirect instead of a redirect", async () => {
    const res = await ds.post("/training", valid, { htmx: true });
    expect(res.status).toBe(204);
    expect(res.headers.get("hx-redirect")).toMatch(/^\/training\/jobs\/iris-for-/);
  });

  it("re-renders the form with messages at the fields and keeps what was typed", async () => {
    const before = h.fakes.emitted.length;
    const res = await ds.post("/training", { ...valid, model: "Bad Name", cpu: "lots", replicas: "x", kind: "single", param_key_2: "", param_value_2: "orphan" });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(fieldErrors(html, "model")).toEqual(["must be lowercase alphanumeric or '-', starting and ending alphanumeric"]);
    expect(fieldErrors(html, "cpu")).toEqual(["must be a Kubernetes quantity such as 500m, 2 or 4Gi"]);
    expect(fieldErrors(html, "params")).toEqual(["row 3: a parameter needs a name"]);
    expect(html).toContain('value="Bad Name"');
    expect(html).toContain('<html lang="en">');
    expect(h.fakes.emitted.length).toBe(before);
  });

  it.each([
    [{ kind: "single", replicas: "2" }, "replicas", "replicas and procsPerReplica apply to kind ddp only"],
    [{ kind: "ddp", replicas: "0" }, "replicas", "must be a positive whole number"],
    [{ kind: "ddp", procsPerReplica: "2.5" }, "procsPerReplica", "must be a whole number"],
    [{ sourceKind: "command", command: "" }, "command", "give the command to run, one argument per line"],
    [{ sourceKind: "git", command: "", sourceGit: "ftp://x", sourceEntry: "t.py" }, "sourceGit", "must be an https, ssh or git@ URL"],
    [{ param_key_1: "lr" }, "params", "parameter lr is given twice"],
  ])("validates %j at %s", async (patch, field, message) => {
    const res = await ds.post("/training", { ...valid, ...patch });
    expect(res.status).toBe(422);
    const errs = fieldErrors(await res.text(), field);
    expect(errs).toContain(message);
  });

  it("returns only the form fragment to htmx on errors", async () => {
    const res = await ds.post("/training", { ...valid, model: "" }, { htmx: true });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html.startsWith('<form method="post" action="/training"')).toBe(true);
    expect(html).not.toContain("<html");
  });

  it("adds and removes param rows without JavaScript", async () => {
    const added = await (await ds.post("/training", { ...valid, _op: "add-param" })).text();
    expect(added).toContain('name="param_key_2"');
    expect(added).not.toContain("field-error");
    const removed = await (await ds.post("/training", { ...valid, _op: "remove-param-0" })).text();
    expect(removed).not.toContain('name="param_key_1"');
    expect(removed).toContain('name="param_key_0" value="seed"');
  });

  it("escapes user input when it is echoed back", async () => {
    const html = await (await ds.post("/training", { ...valid, model: '<img src=x onerror="alert(1)">' })).text();
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
  });

  it("refuses a viewer (403) and a missing CSRF token (403), emitting nothing", async () => {
    const viewer = await h.as("viewer");
    const before = h.fakes.emitted.length;
    expect((await viewer.post("/training", valid)).status).toBe(403);
    expect((await ds.post("/training", valid, { csrf: false })).status).toBe(403);
    expect((await ds.post("/training", valid, { csrf: "forged-token" })).status).toBe(403);
    expect(h.fakes.emitted.length).toBe(before);
  });
});

describe("jobs list", () => {
  it("paginates on the server and filters by state", async () => {
    const html = await (await ds.get("/training/jobs?limit=50&offset=50")).text();
    expect((html.match(/data-job="/g) ?? []).length).toBe(50);
    expect(html).toContain('data-job="job-00050"');
    expect(html).not.toContain('data-job="job-00049"');
    expect(html).toContain("51–100 of 120");
    expect(html).toContain('href="/training/jobs?offset=100&amp;limit=50"');
    const running = await (await ds.get("/training/jobs?state=running")).text();
    expect((running.match(/data-job="/g) ?? []).length).toBe(1);
  });

  it("polls itself while a job runs, and htmx gets just the table", async () => {
    const res = await ds.get("/training/jobs?limit=5", { "hx-request": "true" });
    const html = await res.text();
    expect(html.startsWith('<div id="jobs" hx-get="/training/jobs?offset=0&amp;limit=5" hx-trigger="every 2s"')).toBe(true);
    const done = await (await ds.get("/training/jobs?state=succeeded&limit=5", { "hx-request": "true" })).text();
    expect(done).not.toContain("hx-trigger");
  });
});

describe("job page", () => {
  it("shows state, timeline, a progress chart per metric, ranks and the log tail (escaped)", async () => {
    const html = await (await ds.get("/training/jobs/job-00000?rank=1")).text();
    expect(html).toContain('data-state="running"');
    expect(html).toContain('hx-trigger="every 2s"');
    expect(html).toContain('<g data-series="loss" data-drawn=');
    expect(html).toContain('<g data-series="accuracy" data-drawn=');
    expect(html).toContain('data-points="6"');
    expect(html).toContain('<option value="1" selected="">rank 1</option>');
    expect(html).toContain("rank 1 line 2 of job-00000 &lt;script&gt;x&lt;/script&gt;");
    expect(html).toContain('data-log-stream="/training/jobs/job-00000/logs/stream"');
    expect(html).toContain('<meta http-equiv="refresh" content="3"/>');
    expect(html).toContain('id="cancel"');
  });

  it("shows a bounded tail, cuts overlong lines and links the full log", async () => {
    const html = await (await ds.get("/training/jobs/job-00000?rank=1")).text();
    expect(html).toContain(`tail=200 ${"L".repeat(1991)} [… 3009 more characters in the full log]`);
    expect(html).not.toContain("L".repeat(2001));
    expect(html).toContain('href="/api/v1/jobs/job-00000/logs?rank=1"');
    expect(html).toContain("Download the full log");
  });

  it("stops polling and hides cancel when the job has ended", async () => {
    const html = await (await ds.get("/training/jobs/job-00001")).text();
    expect(html).toContain('data-state="succeeded"');
    expect(html).not.toContain('hx-trigger="every 2s"');
    expect(html).not.toContain('id="cancel"');
  });

  it("streams logs as Server-Sent Events ending with the final state", async () => {
    const res = await ds.get("/training/jobs/job-00001/logs/stream?rank=1");
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const text = await res.text();
    expect(text).toContain("event: log\ndata: rank 1 line 0 of job-00001 <script>x</script>\n");
    expect(text.trim().endsWith("event: end\ndata: succeeded")).toBe(true);
  });

  it("waits for a pending job to start before streaming its logs", async () => {
    h.fakes.jobs.push(job(999, "pending"));
    const pending = ds.get("/training/jobs/job-00999/logs/stream");
    setTimeout(() => {
      const i = h.fakes.jobs.findIndex((j) => j.id === "job-00999");
      h.fakes.jobs[i] = job(999, "succeeded");
    }, 700);
    const text = await (await pending).text();
    expect(text).toContain("data: rank 0 line 0 of job-00999");
    expect(text.trim().endsWith("event: end\ndata: succeeded")).toBe(true);
  });

  it("asks for confirmation before cancelling without JavaScript, then cancels", async () => {
    const ask = await ds.post("/training/jobs/job-00000/cancel", {});
    expect(ask.status).toBe(200);
    expect(await ask.text()).toContain('name="confirm" value="yes"');
    expect(h.fakes.cancelled).toEqual([]);
    const res = await ds.post("/training/jobs/job-00000/cancel", { confirm: "yes" });
    expect(res.status).toBe(303);
    expect(h.fakes.cancelled).toEqual(["job-00000"]);
    const viewer = await h.as("viewer");
    expect((await viewer.post("/training/jobs/job-00000/cancel", { confirm: "yes" })).status).toBe(403);
  });

  it("404s an unknown job, but waits (refreshing) for one just requested", async () => {
    expect((await ds.get("/training/jobs/nope")).status).toBe(404);
    const waiting = await ds.get("/training/jobs/nope?requested=1");
    expect(waiting.status).toBe(200);
    const html = await waiting.text();
    expect(html).toContain('data-state="requested"');
    expect(html).toContain('<meta http-equiv="refresh" content="1"/>');
  });
});
