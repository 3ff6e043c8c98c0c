import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when it could not be started at all. */
  readonly error?: string;
}

export interface OwnedProcess {
  readonly pid: number;
  readonly exited: Promise<ProcessExit>;
  /** True once stop() was called: an exit after that is ours, not the process's own. */
  readonly stopping: boolean;
  /** True once it has exited, for whatever reason. */
  readonly exitedAlready: boolean;
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
 * How a child learns that this process died (SIGKILL included, when no exit handler runs):
 * - `pdeathsig`: setpriv gives it a parent-death SIGKILL, then execs it, so the pid is the child's own. The kernel
 *   clears that signal when a process changes its credentials, as dnsmasq does when it drops capabilities.
 * - `stdin-eof`: a shell runs it and kills it once its stdin, a pipe from this process, reaches EOF (which the
 *   kernel does when this process dies, however it dies). The pid is the shell's; the child's exit is the shell's.
 */
export type ParentDeathWatch = "pdeathsig" | "stdin-eof";

const STDIN_EOF_WATCHDOG = 'exec 3<&0; "$@" <&- & child=$!; (read -r _ <&3; kill -KILL "$child" 2>/dev/null) & watch=$!; wait "$child"; status=$?; kill "$watch" 2>/dev/null; exit "$status"';

/**
 * Starts a child that cannot outlive this process (see ParentDeathWatch). It leads its own process group, which
 * stop() kills whole. Output goes to `logFile`.
 */
export function spawnOwned(command: string, args: readonly string[], options: { logFile: string; watch: ParentDeathWatch }): OwnedProcess {
  const log = openSync(options.logFile, "a");
  const child =
    options.watch === "pdeathsig"
      ? spawn("setpriv", ["--pdeathsig", "SIGKILL", "--", command, ...args], { detached: true, stdio: ["ignore", log, log] })
      : spawn("sh", ["-c", STDIN_EOF_WATCHDOG, "sh", command, ...args], { detached: true, stdio: ["pipe", log, log] });
  closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command}`);
  live.add(pid);
  let stopping = false;
  let done = false;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.on("exit", (code, signal) => {
      done = true;
      live.delete(pid);
      resolve({ code, signal });
    });
    child.on("error", (error) => {
      done = true;
      live.delete(pid);
      resolve({ code: null, signal: null, error: error.message });
    });
  });
  return {
    pid,
    exited,
    get stopping() {
      return stopping;
    },
    get exitedAlready() {
      return done;
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
