// Optional LLM extraction: an OpenAI-compatible chat endpoint with JSON-schema structured output (response_format
// json_schema, strict), asked to pull the model's features out of free text.
import { UpstreamError } from "../../platform/errors.ts";

export interface LlmConfig {
  readonly url: string;
  readonly apiKey: string | undefined;
  readonly model: string;
}

/** The schema sent: every feature a required number, nothing else. */
export function featureSchema(names: readonly string[]): Record<string, unknown> {
  return {
    type: "object",
    properties: Object.fromEntries(names.map((n) => [n, { type: "number" }])),
    required: [...names],
    additionalProperties: false,
  };
}

export async function extractWithLlm(cfg: LlmConfig, text: string, names: readonly string[], doFetch: typeof fetch = fetch): Promise<Record<string, number>> {
  const body = {
    model: cfg.model,
    temperature: 0,
    messages: [
      { role: "system", content: `Extract the numeric input features ${names.join(", ")} from the user's text. Answer with JSON only.` },
      { role: "user", content: text },
    ],
    response_format: { type: "json_schema", json_schema: { name: "model_features", strict: true, schema: featureSchema(names) } },
  };
  let res: Response;
  try {
    res = await doFetch(`${cfg.url.replace(/\/$/, "")}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(cfg.apiKey ? { authorization: `Bearer ${cfg.apiKey}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new UpstreamError("the language model endpoint is unreachable", true, { cause: e });
  }
  // Never pass the upstream body on: it may echo the prompt or carry provider details.
  if (!res.ok) throw new UpstreamError(`the language model endpoint answered ${res.status}`, res.status >= 500 || res.status === 429);
  const json: unknown = await res.json().catch(() => undefined);
  const content = (json as { choices?: { message?: { content?: unknown } }[] } | undefined)?.choices?.[0]?.message?.content;
  if (typeof content !== "string") throw new UpstreamError("the language model answered without content", false);
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    throw new UpstreamError("the language model did not answer JSON", false);
  }
  const out: Record<string, number> = {};
  if (parsed && typeof parsed === "object") {
    for (const n of names) {
      const v = (parsed as Record<string, unknown>)[n];
      if (typeof v === "number" && Number.isFinite(v)) out[n] = v;
    }
  }
  return out;
}
