import { execFileSync } from "node:child_process";
import { runTool } from "../../src/devcluster/prerequisites.ts";

/** Every descendant of `rootPid` (children of detached process groups included), from ps. */
export function descendantsOf(rootPid: number): number[] {
  const table = execFileSync("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const [pid, ppid] of table) {
      if (ppid === parent) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command as a user would; resolves with its exit code (-1 when it did not start or was killed) and output instead of throwing. */
export async function runCommand(file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CommandResult> {
  const run = await runTool(file, args, options.env ?? process.env, options.timeoutMs ?? 300_000);
  return { code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}
