import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byId, fieldErrors, uiHarness, unescapeHtml } from "./harness.ts";
import type { Session, UiHarness } from "./harness.ts";
import { ForbiddenError, UnauthorizedError } from "../../../platform/errors.ts";

let h: UiHarness;
let ds: Session;
beforeAll(async () => {
  h = await uiHarness();
  ds = await h.as("data-scientist");
});
afterAll(() => h.close());

const setosa = { deployment: "iris", f_0: "5.1", f_1: "3.5", f_2: "1.4", f_3: "0.2" };

describe("inference playground", () => {
  it("builds one field per feature from the V2 metadata", async () => {
    const html = await (await ds.get("/playground?deployment=iris")).text();
    for (const [i, f] of ["sepal_length", "sepal_width", "petal_length", "petal_width"].entries()) {
      expect(html).toContain(`<label for="f_${i}">${f} (FP32)</label>`);
    }
    expect(html).not.toContain('name="f_4"');
    expect(html).toContain('<option value="iris" selected="">iris (ready)</option>');
    // The JSON editor says what it is for a first-time user, not "Raw V2".
    expect(html).toContain('<label for="raw">Request as JSON (Open Inference Protocol V2)</label>');
    expect(html).toMatch(/<small class="muted">For tensors the form above cannot express/);
    expect(html).not.toContain("Raw V2");
  });

  it("shows the predicted species and the exact V2 request and response", async () => {
    const res = await ds.post("/playground/infer", setosa);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(byId(html, "prediction")).toBe("setosa");
    const req: unknown = JSON.parse(unescapeHtml(byId(html, "v2-request") ?? ""));
    expect(req).toEqual(h.fakes.infers.at(-1));
    expect(req).toMatchObject({ inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [5.1, 3.5, 1.4, 0.2] }] });
    expect(JSON.parse(unescapeHtml(byId(html, "v2-response") ?? ""))).toMatchObject({ model_name: "iris", outputs: [{ name: "probabilities" }, { name: "label", data: [0] }] });
  });

  it("shows the label and the class probabilities as a table, most likely first", async () => {
    const html = await (await ds.post("/playground/infer", { deployment: "iris", f_0: "6.7", f_1: "3.0", f_2: "5.2", f_3: "2.3" })).text();
    expect(byId(html, "prediction")).toBe("virginica");
    const rows = [...html.matchAll(/<tr[^>]*data-class="([^"]+)"><td>[^<]*<\/td><td class="num">([^<]+)<\/td>/g)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual([["virginica", "80.0%"], ["setosa", "10.0%"], ["versicolor", "10.0%"]]);
  });

  it("answers htmx with just the result panel", async () => {
    const html = await (await ds.post("/playground/infer", { ...setosa, f_2: "6.0" }, { htmx: true })).text();
    expect(html.startsWith('<div id="result"')).toBe(true);
    expect(byId(html, "prediction")).toBe("virginica");
  });

  it("puts a bad number at its field and does not call the model", async () => {
    const n = h.fakes.infers.length;
    const res = await ds.post("/playground/infer", { ...setosa, f_1: "wide" });
    expect(res.status).toBe(422);
    expect(fieldErrors(await res.text(), "f_1")).toEqual(["sepal_width must be a number"]);
    expect(h.fakes.infers.length).toBe(n);
    const hx = await ds.post("/playground/infer", { ...setosa, f_1: "wide" }, { htmx: true });
    expect(hx.status).toBe(422);
    expect(await hx.text()).toContain('<p class="error" role="alert">sepal_width must be a number</p>');
  });

  it("sends a raw V2 request from the editor, and refuses one without inputs", async () => {
    const raw = JSON.stringify({ inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [6, 3, 4.5, 1.5] }] });
    const html = await (await ds.post("/playground/raw", { deployment: "iris", raw })).text();
    expect(byId(html, "prediction")).toBe("versicolor");
    const bad = await ds.post("/playground/raw", { deployment: "iris", raw: "{\"x\":1}" });
    expect(bad.status).toBe(422);
    expect(fieldErrors(await bad.text(), "raw")).toEqual(["must be a JSON V2 inference request with an inputs array"]);
  });

  it("shows the server's validation message (not a crash) when the model refuses the input", async () => {
    const raw = JSON.stringify({ inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: ["a", "b"] }] });
    const res = await ds.post("/playground/raw", { deployment: "iris", raw });
    // The caller's input was refused: a 4xx (htmx swaps it), never a 502 (issue 17's fuzzing), with the model's reason.
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("inputs[0].data: must hold 4 numbers");
  });

  it("answers 404 (not 502) for a deployment that does not exist, or none chosen", async () => {
    for (const deployment of ["no-such-deployment", ""]) {
      const res = await ds.post("/playground/infer", { deployment, sepal_length: "1" });
      expect(res.status).toBe(404);
      expect(await res.text()).toContain("does not exist");
    }
  });

  it("says natural language is not configured when it is not", async () => {
    const res = await ds.post("/playground/text", { deployment: "iris", text: "a small flower" });
    expect(res.status).toBe(422);
    expect(await res.text()).toContain("Natural-language input is not configured");
  });

  it("lets a viewer look but not infer", async () => {
    const viewer = await h.as("viewer");
    expect((await viewer.get("/playground?deployment=iris")).status).toBe(200);
    expect((await viewer.post("/playground/infer", setosa)).status).toBe(403);
  });
});

describe("inference playground under the inference access check", () => {
  // The errors ui-inference.ts's access check throws, for two deployments: the page must show them as what they are.
  let guarded: UiHarness;
  beforeAll(async () => {
    guarded = await uiHarness({
      wrapInference: (real) => ({
        ...real,
        metadata: async (name) => {
          if (name === "iris-anonymous") throw new UnauthorizedError("reading the metadata of iris-anonymous: authentication required");
          if (name === "iris-forbidden") throw new ForbiddenError("inference on iris-forbidden needs the mlops-engineer role; you are data-scientist");
          return real.metadata(name);
        },
      }),
    });
  });
  afterAll(() => guarded.close());

  it("answers htmx with the access check's 401 and 403 and their message (not a 502 htmx would not swap)", async () => {
    const s = await guarded.as("data-scientist");
    for (const [deployment, status, says] of [["iris-anonymous", 401, "authentication required"], ["iris-forbidden", 403, "needs the mlops-engineer role; you are data-scientist"]] as const) {
      const res = await s.post("/playground/infer", { ...setosa, deployment }, { htmx: true });
      expect(res.status).toBe(status);
      const html = await res.text();
      expect(html).not.toContain("<html");
      expect(unescapeHtml(html)).toContain(says);
      const full = await s.get(`/playground?deployment=${deployment}`);
      expect(unescapeHtml(await full.text())).toContain(`Metadata unavailable: ${deployment === "iris-anonymous" ? "reading the metadata of iris-anonymous: " : "inference on iris-forbidden "}${says}`);
    }
  });
});
