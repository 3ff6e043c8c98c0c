import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../bin/maroonedpods.js", import.meta.url));

export interface WebhookProcess {
  readonly pid: number;
  stop(): Promise<number | null>;
}

/** Runs `maroonedpods webhook` as its own process, as in production, and waits for its ready line. */
export async function startWebhookProcess(args: readonly string[]): Promise<WebhookProcess> {
  const child: ChildProcess = spawn(process.execPath, [CLI, "webhook", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => { resolve(code); }));
  await new Promise<void>((resolve, reject) => {
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('"ready":true')) resolve();
    });
    void exited.then((code) => { reject(new Error(`webhook exited with ${code} before it was ready:\n${stderr}`)); });
  });
  return {
    pid: child.pid ?? -1,
    stop: async () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}
