import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEventAs } from "../../../platform/events/envelope.ts";
import { byId, fieldErrors, uiHarness } from "./harness.ts";
import type { Session, UiHarness } from "./harness.ts";

let h: UiHarness;
let ops: Session;
beforeAll(async () => {
  h = await uiHarness();
  ops = await h.as("mlops-engineer");
});
afterAll(() => h.close());

const lastDeploy = (): ReturnType<typeof parseEventAs<"deployment.requested">>["data"] => {
  const ev = h.fakes.emitted.at(-1);
  if (!ev) throw new Error("nothing emitted");
  return parseEventAs("deployment.requested", ev).data;
};

describe("deployments list and detail", () => {
  it("lists deployments with state, revision, playground link and undeploy form", async () => {
    const html = await (await ops.get("/deployments")).text();
    expect(html).toContain('data-deployment="iris"');
    expect(html).toContain('<span class="badge ready">ready</span>');
    expect(html).toContain("r-abc123");
    expect(html).toContain('action="/deployments/iris/undeploy"');
    expect(html).toContain('href="/playground?deployment=iris"');
  });

  it("shows status conditions and the spec", async () => {
    const html = await (await ops.get("/deployments/iris")).text();
    expect(html).toContain("<td>Ready</td><td><span class=\"badge true\">true</span></td><td>Loaded</td>");
    expect(html).toContain("&quot;version&quot;: &quot;2&quot;");
  });

  it("waits for a requested deployment the backend does not know yet, and lists it as pending", async () => {
    await ops.post("/deployments", { kind: "model", name: "new-one", model: "iris", ref: "alias", alias: "champion" });
    const html = await (await ops.get("/deployments/new-one")).text();
    expect(html).toContain('data-state="requested"');
    expect(html).toContain('hx-trigger="every 2s"');
    const list = await (await ops.get("/deployments")).text();
    expect(list).toContain('data-deployment="new-one" data-state="requested"');
  });

  it("shows a deployment that failed before it existed, with the reason from its event, and stops waiting", async () => {
    await ops.post("/deployments", { kind: "pipeline", name: "chain", step_name_0: "missing-model", step_inputs_0: "", step_join_0: "inner" });
    h.fakes.stored.push({ id: "f1", source: "/flywheel/functions/deploy-model", type: "dev.flywheel.deployment.failed", subject: "chain", receivedAt: Date.now() + 1, event: { data: { name: "chain", kind: "pipeline", backend: "local", revision: "r1", reason: "ModelNotFound", message: "registered model missing-model not found", warnings: [] } } });
    const res = await ops.get("/deployments/chain");
    const html = await res.text();
    expect(html).toContain('data-state="failed"');
    expect(html).toContain("<strong>ModelNotFound</strong>: registered model missing-model not found");
    expect(html).not.toContain("hx-trigger");
    const list = await (await ops.get("/deployments")).text();
    expect(list).toContain('data-deployment="chain" data-state="failed"');
    expect(list).toContain("ModelNotFound: registered model missing-model not found");
  });

  it("shows a request deploy-model refused (dead-lettered, no deployment.failed) as failed with the refusal, not pending", async () => {
    await ops.post("/deployments", { kind: "model", name: "refused-one", model: "iris", ref: "alias", alias: "champion" });
    const requested = h.fakes.stored.filter((e) => e.type === "dev.flywheel.deployment.requested").at(-1);
    expect((await (await ops.get("/deployments")).text())).toContain('data-deployment="refused-one" data-state="requested"');
    h.fakes.dead.push({ id: "dl-refused", eventId: requested?.id ?? "", source: "/ui", type: "dev.flywheel.deployment.requested", trigger: "deploy-model", errorDest: "http://deploy-model", errorCode: 400, reason: "backend: seldon is not configured", attempts: 1, state: "dead", count: 1, lastAt: Date.now() + 1 });
    const list = await (await ops.get("/deployments")).text();
    expect(list).toContain('data-deployment="refused-one" data-state="failed"');
    expect(list).toContain("Refused by deploy-model (400): backend: seldon is not configured");
    const html = await (await ops.get("/deployments/refused-one")).text();
    expect(html).toContain('data-state="failed"');
    expect(html).not.toContain("hx-trigger");
  });

  it("404s a deployment nobody asked for", async () => {
    expect((await ops.get("/deployments/never")).status).toBe(404);
  });
});

describe("model deployment form", () => {
  it("is prefilled from a model version link", async () => {
    const html = await (await ops.get("/deployments/new?kind=model&model=iris&version=2")).text();
    expect(html).toContain('name="model" id="model" value="iris"');
    expect(html).toContain('name="version" id="version" value="2"');
    // Not "iris": that is the production deployment, which deploying this version would silently replace.
    expect(html).toContain('name="name" id="name" value="iris-v2"');
  });

  it("emits deployment.requested and opens the deployment", async () => {
    const res = await ops.post("/deployments", { kind: "model", name: "iris-v2", model: "iris", ref: "version", version: "2" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/deployments/iris-v2");
    expect(lastDeploy()).toEqual({ action: "deploy", spec: { kind: "model", name: "iris-v2", model: "iris", version: "2" } });
  });

  it("deploys by alias", async () => {
    await ops.post("/deployments", { kind: "model", name: "iris", model: "iris", ref: "alias", alias: "champion" });
    expect(lastDeploy()).toEqual({ action: "deploy", spec: { kind: "model", name: "iris", model: "iris", alias: "champion" } });
  });

  it("refuses a model version or alias the registry does not have, at the field", async () => {
    const before = h.fakes.emitted.length;
    const res = await ops.post("/deployments", { kind: "model", name: "iris-v9", model: "iris", ref: "version", version: "9" });
    expect(res.status).toBe(422);
    expect(fieldErrors(await res.text(), "version")).toEqual(["registered model iris has no version 9"]);
    const alias = await ops.post("/deployments", { kind: "model", name: "iris-x", model: "iris", ref: "alias", alias: "nosuch" });
    expect(fieldErrors(await alias.text(), "alias")).toEqual(["registered model iris has no alias nosuch"]);
    expect(h.fakes.emitted.length).toBe(before);
  });

  it("puts errors at the fields", async () => {
    const res = await ops.post("/deployments", { kind: "model", name: "Iris!", model: "", ref: "version", version: "v2" });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(fieldErrors(html, "name")).toEqual(["must be lowercase alphanumeric or '-', starting and ending alphanumeric"]);
    expect(fieldErrors(html, "model")).toEqual(["is required"]);
    expect(fieldErrors(html, "version")).toEqual(["must be a registry version number as a string"]);
  });

  it("is refused to a viewer and a data scientist (403), and without CSRF", async () => {
    const before = h.fakes.emitted.length;
    for (const role of ["viewer", "data-scientist"] as const) {
      const s = await h.as(role);
      const res = await s.post("/deployments", { kind: "model", name: "x", model: "iris", ref: "version", version: "1" });
      expect(res.status).toBe(403);
    }
    expect((await ops.post("/deployments", { kind: "model", name: "x", model: "iris", ref: "version", version: "1" }, { csrf: false })).status).toBe(403);
    expect(h.fakes.emitted.length).toBe(before);
  });
});

describe("experiment form", () => {
  const exp = (w1: string, w2: string): Record<string, string> => ({
    kind: "experiment", name: "iris-ab", cand_name_0: "iris-v1", cand_weight_0: w1, cand_name_1: "iris-v2", cand_weight_1: w2, defaultCandidate: "iris-v1", mirrorName: "", mirrorPercent: "100",
  });

  it("shows a running total with its inputs", async () => {
    const html = await (await ops.get("/deployments/new?kind=experiment")).text();
    expect(html).toContain('data-total-of="#cand-rows input.weight"');
    expect(byId(html, "weight-total")).toBe("100");
    expect(html).toContain('class="weight" name="cand_weight_0"');
  });

  it("refuses weights that do not sum to 100, at the candidates field, with the total", async () => {
    const before = h.fakes.emitted.length;
    const res = await ops.post("/deployments", exp("90", "20"));
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(fieldErrors(html, "candidates")).toEqual(["weights must sum to 100, got 110 (iris-v1=90, iris-v2=20)"]);
    expect(byId(html, "weight-total")).toBe("110");
    expect(h.fakes.emitted.length).toBe(before);
  });

  it("deploys when fixed, with a mirror", async () => {
    const res = await ops.post("/deployments", { ...exp("90", "10"), mirrorName: "iris-shadow", mirrorPercent: "50" });
    expect(res.status).toBe(303);
    expect(lastDeploy()).toEqual({
      action: "deploy",
      spec: { kind: "experiment", name: "iris-ab", candidates: [{ name: "iris-v1", weight: 90 }, { name: "iris-v2", weight: 10 }], default: "iris-v1", mirror: { name: "iris-shadow", percent: 50 }, resourceType: "model" },
    });
  });

  it.each([
    [{ cand_weight_1: "ten" }, "candidates", "weights must be whole numbers"],
    [{ defaultCandidate: "nope" }, "defaultCandidate", "default nope is not a candidate"],
  ])("validates %j", async (patch, field, msg) => {
    const html = await (await ops.post("/deployments", { ...exp("90", "10"), ...patch })).text();
    expect(fieldErrors(html, field)).toContain(msg);
  });

  it("adds a candidate row without JavaScript", async () => {
    const html = await (await ops.post("/deployments", { ...exp("90", "10"), _op: "add-cand" })).text();
    expect(html).toContain('name="cand_name_2"');
  });
});

describe("pipeline builder", () => {
  it("builds steps with inputs, tensor maps, join types and output steps", async () => {
    const res = await ops.post("/deployments", {
      kind: "pipeline", name: "chain",
      step_name_0: "a", step_inputs_0: "", step_join_0: "inner",
      step_name_1: "b", step_inputs_1: "a.outputs.predict", step_join_1: "outer",
      tmap_step_0: "b", tmap_from_0: "a.outputs.predict", tmap_to_0: "input",
      outputSteps: "b",
    });
    expect(res.status).toBe(303);
    expect(lastDeploy()).toEqual({
      action: "deploy",
      spec: {
        kind: "pipeline", name: "chain",
        steps: [
          { name: "a", inputs: [], tensorMap: {}, joinType: "inner" },
          { name: "b", inputs: ["a.outputs.predict"], tensorMap: { "a.outputs.predict": "input" }, joinType: "outer" },
        ],
        output: { steps: ["b"], stepsJoin: "inner", tensorMap: {} },
      },
    });
  });

  it("refuses tensor maps and outputs naming unknown steps", async () => {
    const html = await (await ops.post("/deployments", { kind: "pipeline", name: "chain", step_name_0: "a", step_inputs_0: "", step_join_0: "inner", tmap_step_0: "zz", tmap_from_0: "x", tmap_to_0: "y", outputSteps: "q" })).text();
    expect(fieldErrors(html, "tensorMap")).toEqual(['tensor map row for unknown step "zz"']);
    expect(fieldErrors(html, "outputSteps")).toEqual(['output step "q" is not one of the steps']);
  });
});

describe("undeploy", () => {
  it("emits an undeploy request (POST only, mlops-engineer)", async () => {
    const res = await ops.post("/deployments/iris/undeploy", {});
    expect(res.status).toBe(303);
    expect(lastDeploy()).toEqual({ action: "undeploy", name: "iris" });
    expect((await ops.get("/deployments/iris/undeploy")).status).toBe(404);
    const viewer = await h.as("viewer");
    expect((await viewer.post("/deployments/iris/undeploy", {})).status).toBe(403);
  });
});
