// Starts the registry process (registry-main.ts: the embedded MLflow-compatible server on its own) and stops it.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "registry-main.ts");

export interface RegistryProcess {
  readonly url: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

export async function startRegistryProcess(dataDir: string, logDir: string, timeoutMs = 60_000): Promise<RegistryProcess> {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, dataDir], { stdio: ["ignore", "pipe", "pipe"] });
  const log = fs.openSync(path.join(logDir, "registry.log"), "a");
  // On "close", not "exit": output still buffered in the pipes arrives after "exit", and a write to the closed fd
  // throws EBADF (or would hit whatever file reused the number). Also closes the log of a child that never listened.
  child.once("close", () => fs.closeSync(log));
  let out = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`registry did not start in ${timeoutMs} ms: ${out.slice(-2000)}`)), timeoutMs);
    const onData = (d: Buffer): void => {
      fs.writeSync(log, d);
      if (out.length < 50_000) out += d.toString();
      const m = /"msg":"listening".*?"port":(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`registry exited ${code}: ${out.slice(-2000)}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
