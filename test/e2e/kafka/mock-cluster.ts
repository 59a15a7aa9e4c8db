// Starts kcat's librdkafka mock cluster (a real Kafka-protocol broker) and reports its bootstrap address.
import { spawn, type ChildProcess } from "node:child_process";
import { requireTool } from "../../support/require-binary.ts";

export interface MockCluster {
  readonly broker: string;
  stop(): Promise<void>;
}

export async function startMockCluster(topic: string, timeoutMs = 15_000): Promise<MockCluster> {
  const child: ChildProcess = spawn(requireTool("kcat"), ["-b", "x", "-X", "test.mock.num.brokers=1", "-C", "-t", topic], { stdio: ["ignore", "ignore", "pipe"] });
  const broker = await new Promise<string>((resolve, reject) => {
    let err = "";
    const timer = setTimeout(() => reject(new Error(`kcat mock cluster did not start: ${err.slice(0, 500)}`)), timeoutMs);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString();
      const m = /replaced with (\S+:\d+)/.exec(err);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  return {
    broker,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
