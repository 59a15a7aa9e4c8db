// The serving network: the V2 runtime as its own process (the predictor pod), and a stable front that proxies to it:
// per InferenceService a front splitting traffic across revisions by percent (Knative's route), and one seldon-mesh
// front routing by the Seldon-Model header.
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { ROOT } from "../../../knative-process.ts";

export interface RuntimeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Start the standalone V2 server on the downloaded model; resolves once it listens (its model is loaded by then). */
export async function startRuntime(o: { modelName: string; modelDir: string; version: string; onLog?: (text: string) => void }, timeoutMs = 60_000): Promise<RuntimeProcess> {
  const args = ["--import", "tsx", path.join(ROOT, "platform/serving/local/standalone.ts"), "--model_name", o.modelName, "--model_dir", o.modelDir, "--model_version", o.version, "--http_port", "0"];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" }, detached: true, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  const exited = new Promise<void>((r) => child.once("close", () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the V2 runtime did not start in ${timeoutMs} ms: ${err.slice(-1000)}`)), timeoutMs);
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      o.onLog?.(d);
      err = (err + d).slice(-8000);
      const m = /"msg":"listening".*?"port":(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      const line = /"msg":"could not start".*?"message":"((?:[^"\\]|\\.)*)"/.exec(err);
      reject(new Error(line?.[1] ?? `the V2 runtime exited ${code}: ${err.slice(-1000)}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-(child.pid ?? 0), "SIGTERM");
      } catch {
        return;
      }
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface Backend {
  readonly url: string;
  readonly percent: number;
}

/** An HTTP front that proxies each request to a backend chosen by `pick` (undefined = 503, as with no ready revision). */
export class Front {
  readonly #server: http.Server;
  #url = "";

  constructor(pick: (req: http.IncomingMessage) => string | undefined) {
    this.#server = http.createServer((req, res) => {
      const target = pick(req);
      if (!target) {
        res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ error: "no ready revision serves this route" }));
        return;
      }
      const up = http.request(new URL(req.url ?? "/", target), { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on("error", () => {
        if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "upstream revision unreachable" }));
      });
      req.pipe(up);
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.#server.listen(0, "127.0.0.1", r));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.#url;
  }

  get url(): string {
    return this.#url;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((r) => this.#server.close(() => r()));
  }
}

/** Weighted choice among backends (percents sum to 100). */
export function weighted(backends: readonly Backend[], random: () => number = Math.random): string | undefined {
  let x = random() * 100;
  for (const b of backends) {
    if (b.percent <= 0) continue;
    if (x < b.percent) return b.url;
    x -= b.percent;
  }
  return backends.filter((b) => b.percent > 0).at(-1)?.url;
}
