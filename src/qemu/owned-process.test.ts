import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { pollUntil } from "../util/poll.ts";
import { spawnOwned, type ParentDeathWatch } from "./owned-process.ts";

const MODULE = fileURLToPath(new URL("./owned-process.ts", import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function logFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "owned-process-test-"));
  dirs.push(dir);
  return join(dir, "child.log");
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The pid of the `sleep` an owned process runs: itself (pdeathsig) or the watching shell's child (stdin-eof). */
function sleeperOf(pid: number, watch: ParentDeathWatch): number | undefined {
  if (watch === "pdeathsig") return pid;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ").map(Number);
  return children.find((child) => readFileSync(`/proc/${child}/cmdline`, "utf8").startsWith("sleep"));
}

describe("spawnOwned", () => {
  it.each<ParentDeathWatch>(["pdeathsig", "stdin-eof"])("with %s, the child dies when its parent is SIGKILLed", async (watch) => {
    const log = await logFile();
    const script = `import { spawnOwned } from ${JSON.stringify(MODULE)}; const c = spawnOwned("sleep", ["1000"], { logFile: ${JSON.stringify(log)}, watch: ${JSON.stringify(watch)} }); console.log(c.pid);`;
    const parent = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const ownedPid = Number(await new Promise<string>((resolve) => parent.stdout.once("data", (data: Buffer) => { resolve(data.toString()); })));
    const sleeper = await pollUntil("the sleep to start", () => Promise.resolve(sleeperOf(ownedPid, watch)), { timeoutMs: 5_000, intervalMs: 50 });
    expect(alive(sleeper)).toBe(true);
    parent.kill("SIGKILL");
    await pollUntil("the sleep to die with its parent's parent", () => Promise.resolve(alive(sleeper) && readFileSync(`/proc/${sleeper}/stat`, "utf8").split(" ")[2] !== "Z" ? undefined : true), { timeoutMs: 5_000, intervalMs: 50 });
  });

  it("stop() runs the graceful step, then kills what is still there after the grace period", async () => {
    const child = spawnOwned("sleep", ["1000"], { logFile: await logFile(), watch: "stdin-eof" });
    let asked = false;
    const started = Date.now();
    await child.stop(() => {
      asked = true;
      return Promise.resolve();
    }, 200);
    expect(asked).toBe(true);
    expect(child.stopping).toBe(true);
    expect(child.exitedAlready).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it("reports an exit of its own with its code", async () => {
    const child = spawnOwned("sh", ["-c", "exit 3"], { logFile: await logFile(), watch: "pdeathsig" });
    expect(await child.exited).toEqual({ code: 3, signal: null });
    expect(child.stopping).toBe(false);
  });
});
