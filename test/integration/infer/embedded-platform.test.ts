// infer on the real embedded platform, which calls its V2 server directly: answers, errors, request ids and the
// serving and candidate metrics as before; with protected inference too (its in-process V2 call went unauthenticated and
// failed), the playground included, as its signed-in user; and API answers (/infer, /v2) set no CSRF cookie, while a
// form page does.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, DEFAULT_PARAMS } from "../../../examples/iris-node/train.ts";
import { resolveModelDir } from "../../../platform/serving/mlmodel.ts";
import { DeploymentSpecSchema } from "../../../platform/specs/deployment.ts";
import { Signer } from "../../../platform/auth/session.ts";
import type { Role } from "../../../platform/auth/index.ts";
import { startTestPlatform, type TestPlatform } from "../../support/platform.ts";

// The UI replicas' shared session key (FLYWHEEL_SESSION_KEY): sessions are minted with it, as a login would.
const SESSION_KEY = "a-session-key-for-the-playground-test-0123";
const VIRGINICA = { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.2, petal_width: 2.3 };
let p: TestPlatform;
let tmp = "";
let irisOut = "";
const deployIris = (on: TestPlatform, out: string): Promise<unknown> =>
  on.platform.serving.apply(DeploymentSpecSchema.parse({ kind: "model", name: "iris", model: "iris", version: "1" }), { revision: "r1", models: { iris: resolveModelDir("iris", "1", out, "file://" + out) } });
beforeAll(async () => {
  p = await startTestPlatform({ FLYWHEEL_LOG_LEVEL: "silent" });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-infer-direct-"));
  irisOut = run({ ...DEFAULT_PARAMS, epochs: 30 }, tmp).outDir;
  await deployIris(p, irisOut);
}, 60_000);
afterAll(async () => {
  await p?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const post = (url: string, body: unknown): Promise<Response> => fetch(`${p.url}${url}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
/** The value of one Prometheus series (labels given in exposition order), 0 when absent. */
const series = async (name: string, labels: string): Promise<number> => {
  const text = await (await fetch(`${p.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
};

describe("infer on the embedded platform", () => {
  it("answers with the decoded label, a verifiable request id, and one count in the serving and candidate metrics", async () => {
    const served = () => series("flywheel_inference_requests_total", 'model="iris",version="1",code="200"');
    const succeeded = () => series("flywheel_infer_candidate_requests_total", 'deployment="iris",candidate="iris",outcome="success"');
    const rejected = () => series("flywheel_infer_candidate_requests_total", 'deployment="iris",candidate="iris",outcome="rejected"');
    const [s0, c0, r0] = [await served(), await succeeded(), await rejected()];

    const res = await post("/infer/iris", VIRGINICA);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { prediction: { label: string }; requestId: string; model: string; version: string };
    expect(body).toMatchObject({ model: "iris", version: "1", prediction: { label: "virginica" } });
    expect(res.headers.get("x-request-id")).toBe(body.requestId);
    expect([await served(), await succeeded()]).toEqual([s0 + 1, c0 + 1]);

    // A V2 request the model refuses: the V2 server's message, a 400, counted as the caller's fault.
    const bad = await post("/infer/iris", { inputs: [{ name: "input", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^inference on iris: .*has shape \[-1,4\]/);
    expect(bad.headers.get("x-request-id")).toBeTruthy();
    expect(await rejected()).toBe(r0 + 1);
  });

  it("sets no CSRF cookie on /infer and /v2 answers, errors included; a page that renders a form still does", async () => {
    const answers = [
      await post("/infer/iris", VIRGINICA),
      await post("/infer/nope", VIRGINICA),
      await post("/v2/models/iris/infer", { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [6.7, 3.0, 5.2, 2.3] }] }),
      await post("/v2/models/iris/infer", { inputs: [] }),
      await fetch(`${p.url}/v2/models/iris`),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 404, 200, 400, 200]);
    for (const r of answers) expect(r.headers.getSetCookie()).toEqual([]);
    const login = await fetch(`${p.url}/login`);
    expect(login.status).toBe(200);
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith("fw_csrf="));
    expect(cookie).toBeDefined();
    // The form's token is made from that cookie: the login form posts back with both and is not refused as forged.
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await login.text())?.[1] ?? "";
    const form = await fetch(`${p.url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { cookie: cookie?.split(";")[0] ?? "", origin: p.url, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: csrf, token: "wrong", next: "/" }).toString(),
    });
    expect(form.status).toBe(401);
    expect(await form.text()).not.toContain("CSRF");
  });
});

describe("infer on an embedded platform with protected inference", () => {
  let guarded: TestPlatform;
  beforeAll(async () => {
    guarded = await startTestPlatform({ FLYWHEEL_LOG_LEVEL: "silent", FLYWHEEL_PROTECT_INFERENCE: "true", FLYWHEEL_SESSION_KEY: SESSION_KEY });
    await deployIris(guarded, irisOut);
  }, 60_000);
  afterAll(async () => {
    await guarded?.stop();
  });

  it("answers a data scientist (the admin token here) and refuses an anonymous caller", async () => {
    const send = (headers: Record<string, string>): Promise<Response> =>
      fetch(`${guarded.url}/infer/iris`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(VIRGINICA) });
    const ok = await send({ authorization: `Bearer ${guarded.token ?? ""}` });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { prediction: { label: string } }).prediction.label).toBe("virginica");
    expect((await send({})).status).toBe(401);
  });

  /** A signed-in browser on the playground: its session and CSRF cookies, and the form's token. */
  const signIn = async (role: Role): Promise<{ status: number; html: string; post: (path: string, form: Record<string, string>) => Promise<Response> }> => {
    const session = `fw_session=${new Signer(SESSION_KEY).newSession(`${role}-user`, role).cookie}`;
    const page = await fetch(`${guarded.url}/playground?deployment=iris`, { headers: { cookie: session } });
    const csrfCookie = page.headers.getSetCookie().find((c) => c.startsWith("fw_csrf="))?.split(";")[0] ?? "";
    const html = await page.text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
    const post = (to: string, form: Record<string, string>): Promise<Response> =>
      fetch(`${guarded.url}${to}`, {
        method: "POST",
        headers: { cookie: `${session}; ${csrfCookie}`, origin: guarded.url, "hx-request": "true", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ _csrf: csrf, deployment: "iris", ...form }).toString(),
      });
    return { status: page.status, html, post };
  };

  it("gives a signed-in data scientist predictions in the playground, from the feature form and from a sentence", async () => {
    const ds = await signIn("data-scientist");
    expect(ds.status).toBe(200);
    expect(ds.html).not.toContain("Metadata unavailable");
    const form = await ds.post("/playground/infer", { f_0: "6.7", f_1: "3.0", f_2: "5.2", f_3: "2.3" });
    const formHtml = await form.text();
    expect([form.status, /id="prediction">([^<]+)</.exec(formHtml)?.[1]]).toEqual([200, "virginica"]);
    const text = await ds.post("/playground/text", { text: "Predict iris: sepal length 5.1, sepal width 3.5, petal length 1.4, petal width 0.2" });
    const textHtml = await text.text();
    expect([text.status, /id="prediction">([^<]+)</.exec(textHtml)?.[1]]).toEqual([200, "setosa"]);
    // A sentence the parser cannot read (no LLM here) is the caller's: a 400 whose message says what is missing.
    const unread = await ds.post("/playground/text", { text: "a flower I saw yesterday" });
    expect(unread.status).toBe(400);
    expect(/<p class="error" role="alert">([^<]+)</.exec(await unread.text())?.[1]).toMatch(/could not find sepal_length, .* in the text/);
  });

  it("shows a viewer the model's form but refuses their predictions with a readable 403", async () => {
    const viewer = await signIn("viewer");
    expect(viewer.status).toBe(200);
    expect(viewer.html).toContain('id="infer-form"');
    for (const [to, form] of [["/playground/infer", { f_0: "6.7", f_1: "3.0", f_2: "5.2", f_3: "2.3" }], ["/playground/text", { text: "sepal length 5.1" }]] as const) {
      const res = await viewer.post(to, form);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("this needs the data-scientist role; you are viewer");
    }
  });
});
