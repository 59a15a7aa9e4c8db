// HTTP client for Flywheel's own API (/api/v1, /infer, /events), used by the CLI and the demo.
import { UpstreamError } from "../errors.ts";
import { trimTrailingSlashes } from "../slashes.ts";

export interface ApiClientOptions {
  readonly url: string;
  readonly token?: string | undefined;
  readonly fetch?: typeof fetch;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}: ${describe(body)}`);
    this.name = "ApiError";
  }
}

function describe(body: unknown): string {
  if (body && typeof body === "object" && "error" in body) {
    const b = body as { error: unknown; issues?: { field: string; message: string }[] };
    const issues = b.issues?.map((i) => `\n  ${i.field}: ${i.message}`).join("") ?? "";
    return `${String(b.error)}${issues}`;
  }
  return typeof body === "string" ? body : JSON.stringify(body);
}

export class ApiClient {
  readonly #opts: ApiClientOptions;
  constructor(opts: ApiClientOptions) {
    this.#opts = { ...opts, url: trimTrailingSlashes(opts.url) };
  }

  get url(): string {
    return this.#opts.url;
  }

  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await this.raw(method, path, body, headers);
    const text = await res.text();
    const parsed: unknown = text && (res.headers.get("content-type") ?? "").includes("json") ? JSON.parse(text) : text;
    if (!res.ok) throw new ApiError(res.status, parsed);
    return parsed as T;
  }

  async raw(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const h: Record<string, string> = { accept: "application/json", ...headers };
    if (this.#opts.token) h.authorization = `Bearer ${this.#opts.token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === "string" ? body : JSON.stringify(body);
      h["content-type"] ??= typeof body === "string" ? "text/plain" : "application/json";
    }
    try {
      return await (this.#opts.fetch ?? fetch)(`${this.#opts.url}${path}`, { method, headers: h, body: payload });
    } catch (e) {
      throw new UpstreamError(`cannot reach Flywheel at ${this.#opts.url}`, true, { cause: e });
    }
  }
}
