import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { isRecord } from "../util/guards.ts";

const CLI = fileURLToPath(new URL("../../bin/maroonedpods.js", import.meta.url));

export interface DevProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far, stdout and stderr interleaved. */
  output(): string;
  /** The lines of its output that are JSON objects (its log entries, with `--log-format json`). */
  logEntries(): Record<string, unknown>[];
  readonly exited: Promise<number | null>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Runs `maroonedpods dev` with `args` as a child process (test/real-vm.test.ts and `npm run bench:vm` do) and
 * resolves once it printed its ready line; rejects with its output if it exits first or is not ready within
 * `timeoutMs`.
 */
export async function startDevProcess(args: readonly string[], timeoutMs: number): Promise<DevProcess> {
  const child = spawn(process.execPath, [CLI, "dev", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => { resolve(code); }));
  const ready = await new Promise<true | Error>((resolve) => {
    const deadline = setTimeout(() => { resolve(new Error(`dev was not ready within ${String(timeoutMs / 1000)} s`)); }, timeoutMs);
    const check = setInterval(() => {
      if (!/^maroonedpods dev: ready in /m.test(output)) return;
      clearInterval(check);
      clearTimeout(deadline);
      resolve(true);
    }, 200);
    void exited.then((code) => {
      clearInterval(check);
      clearTimeout(deadline);
      resolve(new Error(`dev exited with ${String(code)} before it was ready`));
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    return exited;
  };
  if (ready instanceof Error) {
    await stop();
    throw new Error(`${ready.message}; its output:\n${output.slice(-20_000)}`);
  }
  const logEntries = (): Record<string, unknown>[] => output.split("\n").flatMap((line) => {
    try {
      const entry = JSON.parse(line) as unknown;
      return isRecord(entry) ? [entry] : [];
    } catch {
      return [];
    }
  });
  return { child, output: () => output, logEntries, exited, stop };
}
