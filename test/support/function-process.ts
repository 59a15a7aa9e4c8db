// Real function replicas for tests: `platform/knative/main.ts` (the production entry, via tsx) in child processes.
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fromHttp, type AnyCloudEvent } from "../../platform/events/index.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ENTRY = path.join(ROOT, "platform/knative/main.ts");

export interface FunctionProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** SIGTERM (graceful drain) or SIGKILL; resolves when the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  output(): string;
}

/**
 * Keeps the last 20,000 characters of a function process's stdout and stderr, and resolves its port from the
 * `listening` log line; rejects if the process exits first.
 */
export function watchListening(child: ChildProcess, target: string): { port: Promise<number>; output: () => string } {
  let out = "";
  const port = new Promise<number>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out = (out + d.toString()).slice(-20_000);
      const m = /"msg":"listening".*?"port":(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${target} exited ${code} before listening: ${out.slice(-3000)}`)));
  });
  return { port, output: () => out };
}

/** Start one replica of `target` with only the given environment (plus PATH), on a free port. */
export async function startFunction(target: string, env: Record<string, string>): Promise<FunctionProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", ENTRY], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: "0", HOST: "127.0.0.1", FUNCTION_TARGET: target, FLYWHEEL_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const { port: listening, output } = watchListening(child, target);
  const port = await listening;
  return {
    url: `http://127.0.0.1:${port}/`,
    child,
    output,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill(signal);
      await exited;
    },
  };
}

/** A broker ingress stand-in that records every CloudEvent posted to it; `hold` makes it stall answers. */
export interface EventSink {
  readonly url: string;
  readonly events: AnyCloudEvent[];
  hold: boolean;
  /** Stop holding: answer every held request 202 and record its event. */
  release(): void;
  /** Requests held unanswered now. */
  heldCount(): number;
  close(): Promise<void>;
}

export async function startEventSink(): Promise<EventSink> {
  const held: { res: http.ServerResponse; accept: () => void }[] = [];
  const sink: EventSink = {
    url: "",
    events: [],
    hold: false,
    heldCount: () => held.length,
    release: () => {
      sink.hold = false;
      for (const h of held.splice(0)) h.accept();
    },
    close: async () => {
      for (const h of held) h.res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const accept = (): void => {
        try {
          sink.events.push(fromHttp(req.headers, Buffer.concat(chunks)));
          res.writeHead(202).end();
        } catch {
          res.writeHead(400).end();
        }
      };
      if (sink.hold) held.push({ res, accept });
      else accept();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return Object.assign(sink, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` });
}
