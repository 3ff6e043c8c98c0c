import { spawn } from "node:child_process";
import { MINIMUM_GO_VERSION } from "./versions.ts";

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

/** Runs a command to its end with its output captured; never rejects. */
export function runTool(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ToolRun> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
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
export function parseGoVersion(text: string): { major: number; minor: number } | undefined {
  const match = /^go(\d+)\.(\d+)(?:\D|$)/.exec(text.trim());
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

const GO_FIX = `install Go >= ${MINIMUM_GO_VERSION.major}.${MINIMUM_GO_VERSION.minor} from https://go.dev/dl/ and put its bin/ on PATH`;

/** Why the Go on PATH cannot build the control plane, or undefined when it can. */
export function goProblem(run: ToolRun): string | undefined {
  if (run.status !== 0) return `no Go toolchain on PATH (go env GOVERSION: ${lastLine(run.stderr) || `exit ${String(run.status)}`}): ${GO_FIX}`;
  const version = parseGoVersion(run.stdout);
  if (version === undefined) return `cannot read the Go version from ${JSON.stringify(run.stdout.trim())}: ${GO_FIX}`;
  const { major, minor } = MINIMUM_GO_VERSION;
  if (version.major < major || (version.major === major && version.minor < minor)) return `Go ${run.stdout.trim()} is too old to build the control plane: ${GO_FIX}`;
  return undefined;
}

/** Fails with a PrerequisiteError unless a Go that builds the control plane is on PATH. */
export async function requireGo(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const problem = goProblem(await runTool("go", ["env", "GOVERSION"], env));
  if (problem !== undefined) throw new PrerequisiteError(problem);
}
