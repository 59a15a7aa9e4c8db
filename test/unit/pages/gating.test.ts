import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "../../../platform/auth/roles.ts";
import { uiHarness } from "./harness.ts";
import type { UiHarness } from "./harness.ts";

let h: UiHarness;
beforeAll(async () => {
  h = await uiHarness({ airflowUrl: "http://airflow.invalid" });
});
afterAll(() => h.close());

// Every state-changing route, the least role it needs, and a body that would be accepted.
const POSTS: [string, Role, Record<string, string>][] = [
  ["/training", "data-scientist", { model: "iris", command: "python3\ntrain.py" }],
  ["/training/jobs/job-00001/cancel", "data-scientist", { confirm: "yes" }],
  ["/playground/infer", "data-scientist", { deployment: "iris", f_0: "1", f_1: "1", f_2: "1", f_3: "1" }],
  ["/playground/raw", "data-scientist", { deployment: "iris", raw: '{"inputs":[]}' }],
  ["/playground/text", "data-scientist", { deployment: "iris", text: "x" }],
  ["/deployments", "mlops-engineer", { kind: "model", name: "x", model: "iris", ref: "alias", alias: "champion" }],
  ["/deployments/iris/undeploy", "mlops-engineer", {}],
  ["/models/iris/promote", "mlops-engineer", { version: "1" }],
  ["/models/iris/rollback", "mlops-engineer", {}],
  ["/activity/dead-letters/dl1/replay", "mlops-engineer", {}],
  ["/activity/dead-letters/dl1/discard", "mlops-engineer", {}],
  ["/airflow/dags/d/trigger", "mlops-engineer", {}],
  ["/airflow/dags/d/pause", "mlops-engineer", {}],
  ["/airflow/dags/d/unpause", "mlops-engineer", {}],
];
const ORDER: Role[] = ["viewer", "data-scientist", "mlops-engineer"];

const GETS = ["/", "/training", "/training/jobs", "/training/jobs/job-00001", "/registry", "/registry/experiments/1", "/models", "/models/iris", "/models/iris/versions/1", "/deployments", "/deployments/new", "/deployments/iris", "/playground", "/activity"];

describe("role gating on the server", () => {
  it.each(POSTS)("POST %s needs %s", async (url, need, body) => {
    for (const role of ORDER) {
      const s = await h.as(role);
      const before = h.fakes.emitted.length;
      const res = await s.post(url, body);
      const allowed = ORDER.indexOf(role) >= ORDER.indexOf(need);
      if (allowed) expect(res.status, `${role} on ${url}`).not.toBe(403);
      else {
        expect(res.status, `${role} on ${url}`).toBe(403);
        expect(h.fakes.emitted.length).toBe(before);
      }
    }
  });

  it.each(POSTS)("POST %s refuses a missing CSRF token even for mlops-engineer", async (url, _need, body) => {
    const s = await h.as("mlops-engineer");
    expect((await s.post(url, body, { csrf: false })).status).toBe(403);
  });

  it.each(POSTS)("POST %s sends an anonymous browser (with a valid CSRF token) to log in", async (url, _need, body) => {
    const anon = h.anonymous();
    anon.csrf = /name="_csrf" value="([^"]+)"/.exec(await (await anon.get("/login")).text())?.[1] ?? "";
    const res = await anon.post(url, body);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/login?next=%2F");
  });

  it.each(GETS)("GET %s is readable by a viewer and changes nothing", async (url) => {
    const s = await h.as("viewer");
    const before = h.fakes.emitted.length;
    expect((await s.get(url)).status).toBe(200);
    expect(h.fakes.emitted.length).toBe(before);
    const anon = await h.anonymous().get(url);
    expect(anon.status).toBe(302);
  });
});
