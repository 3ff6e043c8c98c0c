import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

const STOP_TIMEOUT_MS = 10_000;
const STDERR_TAIL_CHARS = 20_000;

export interface ComponentProcess {
  readonly pid: number;
  /** The process's JSON ready line, e.g. its ports. */
  readonly ready: Readonly<Record<string, unknown>>;
  /** SIGTERM (or `signal`), SIGKILL if it does not exit in time; resolves with the exit code (null when killed). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

function waitForExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return once(child, "exit").then(([code]) => code as number | null);
}

/**
 * Runs a Node.js entry point (`node <script> ...args`) as its own process and
 * resolves once it prints a JSON line with `"ready": true`; rejects with the
 * tail of its stderr if it exits or stays silent for `readyTimeoutMs`.
 */
export async function startComponentProcess(script: string, args: readonly string[], readyTimeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<ComponentProcess> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_TAIL_CHARS);
  });
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    try {
      return await waitForExit(child);
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${script} printed no ready line within ${readyTimeoutMs / 1000} s:\n${stderr}`)); }, readyTimeoutMs);
      createInterface({ input: child.stdout }).on("line", (line) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          return; // not the ready line
        }
        if (typeof parsed === "object" && parsed !== null && (parsed as Record<string, unknown>).ready === true) {
          clearTimeout(timer);
          resolve(parsed as Record<string, unknown>);
        }
      });
      void waitForExit(child).then((code) => {
        clearTimeout(timer);
        reject(new Error(`${script} exited with ${String(code)} before it was ready:\n${stderr}`));
      });
    });
    return { pid: child.pid ?? -1, ready, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
