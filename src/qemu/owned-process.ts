import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface OwnedProcess {
  readonly pid: number;
  readonly exited: Promise<ProcessExit>;
  /** True once stop() was called: an exit after that is ours, not the process's own. */
  readonly stopping: boolean;
  signal(signal: NodeJS.Signals): void;
  /** Asks it to end (`gracefully`), waits up to `graceMs`, then SIGKILLs its process group; resolves once it is gone. */
  stop(gracefully: () => Promise<void>, graceMs: number): Promise<void>;
}

/**
 * Every live child, for the synchronous kill when this process exits. The one module-level state, because process
 * exit is process-wide; a SIGKILL of this process is covered by the children's parent-death signal instead.
 */
const live = new Set<number>();
process.on("exit", () => {
  for (const pid of live) killGroup(pid, "SIGKILL");
});

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Starts a child that cannot outlive this process: setpriv gives it a parent-death SIGKILL (then execs it, so the
 * pid is the child's own), and it leads its own process group, which stop() kills whole. Output goes to `logFile`.
 */
export function spawnOwned(command: string, args: readonly string[], options: { logFile: string }): OwnedProcess {
  const log = openSync(options.logFile, "a");
  const child = spawn("setpriv", ["--pdeathsig", "SIGKILL", "--", command, ...args], { detached: true, stdio: ["ignore", log, log] });
  closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command}: setpriv (util-linux) missing?`);
  live.add(pid);
  const exited = new Promise<ProcessExit>((resolve) => {
    child.on("exit", (code, signal) => {
      live.delete(pid);
      resolve({ code, signal });
    });
  });
  let stopping = false;
  let done = false;
  void exited.then(() => (done = true));
  return {
    pid,
    exited,
    get stopping() {
      return stopping;
    },
    signal(signal) {
      if (!done) child.kill(signal);
    },
    async stop(gracefully, graceMs) {
      stopping = true;
      if (done) return;
      await gracefully().catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([exited, grace]);
      clearTimeout(timer);
      killGroup(pid, "SIGKILL");
      await exited;
    },
  };
}
