import { spawn } from "node:child_process";
import type { GoVersion } from "./versions.ts";

/** What no package registry ships (Go, python3 and its pip) is missing or too old; the message is one line ending in the fix. */
export class PrerequisiteError extends Error {
  override readonly name = "PrerequisiteError";
}

export interface ToolRun {
  /** null when the command could not be started (not on PATH) or was killed. */
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end (or `timeoutMs`, then SIGKILL) with its output captured; never rejects. */
export function runTool(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, timeoutMs?: number): Promise<ToolRun> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs, killSignal: "SIGKILL" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", (error) => {
      resolve({ status: null, stdout, stderr: stderr + error.message });
    });
    child.on("close", (status) => {
      resolve({ status, stdout, stderr });
    });
  });
}

/** The last non-empty line of a tool's error output, for a one-line message. */
export function lastLine(text: string): string {
  return text.trim().split("\n").at(-1)?.trim() ?? "";
}

/** `go1.26.8` (from `go env GOVERSION`) → { major: 1, minor: 26 }; undefined for anything else (e.g. a devel build). */
export function parseGoVersion(text: string): GoVersion | undefined {
  const match = /^go(\d+)\.(\d+)(?:\D|$)/.exec(text.trim());
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

/** Why the Go that `go env GOVERSION` ran cannot build what needs `minimum`, or undefined when it can. */
export function goProblem(run: ToolRun, minimum: GoVersion): string | undefined {
  const fix = `install Go >= ${minimum.major}.${minimum.minor} from https://go.dev/dl/ and put its bin/ on PATH`;
  if (run.status !== 0) return `no Go toolchain on PATH (go env GOVERSION: ${lastLine(run.stderr) || `exit ${String(run.status)}`}): ${fix}`;
  const version = parseGoVersion(run.stdout);
  if (version === undefined) return `cannot read the Go version from ${JSON.stringify(run.stdout.trim())}: ${fix}`;
  const { major, minor } = minimum;
  if (version.major < major || (version.major === major && version.minor < minor)) return `Go ${run.stdout.trim()} is too old: ${fix}`;
  return undefined;
}

/** Fails with a PrerequisiteError unless a Go of at least `minimum` is on PATH. */
export async function requireGo(minimum: GoVersion, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const problem = goProblem(await runTool("go", ["env", "GOVERSION"], env), minimum);
  if (problem !== undefined) throw new PrerequisiteError(problem);
}
