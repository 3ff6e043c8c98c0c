import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process has exited, for any reason. */
  readonly exited: Promise<void>;
}

interface Entry extends ManagedProcess {
  readonly child: ChildProcess;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  exitCode: number | null;
}

const STOP_GRACE_MS = 5_000;

/**
 * The processes of one local cluster. Each runs in its own process group so a
 * stop reaches any children too; stop() waits until every one has exited.
 */
export class ProcessGroup {
  readonly #entries: Entry[] = [];
  readonly #logDir: string;
  readonly #logger: Logger;

  constructor(logDir: string, logger: Logger) {
    this.#logDir = logDir;
    this.#logger = logger;
  }

  get pids(): number[] {
    return this.#entries.map((e) => e.pid);
  }

  start(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): ManagedProcess {
    const logFile = join(this.#logDir, `${name}.log`);
    const log = createWriteStream(logFile, { flags: "a" });
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], detached: true, env });
    if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    const exited = new Promise<void>((resolve) => {
      child.on("exit", (code, signal) => {
        entry.exitCode = code ?? (signal ? 128 : 1);
        this.#logger.debug({ process: name, code, signal }, "process exited");
        resolve();
      });
    });
    const entry: Entry = { name, pid: child.pid, logFile, exited, child, command, args, env, exitCode: null };
    this.#entries.push(entry);
    this.#logger.debug({ process: name, pid: child.pid, logFile }, "process started");
    return entry;
  }

  /** Throws if a process already exited: a clear error beats waiting for a timeout. */
  assertRunning(): void {
    const dead = this.#entries.find((e) => e.exitCode !== null && !this.#restarted(e));
    if (dead) throw new Error(`${dead.name} exited with code ${dead.exitCode}; see ${dead.logFile}`);
  }

  /** For fault tests: SIGKILLs the named process (its whole group) and waits until it is gone. */
  async kill(name: string): Promise<void> {
    const entry = this.#latest(name);
    if (entry.exitCode !== null) return;
    signalGroup(entry.pid, "SIGKILL");
    await entry.exited;
  }

  /** Starts the named process again as it was first started, its log continued; it must have exited. */
  restart(name: string): ManagedProcess {
    const entry = this.#latest(name);
    if (entry.exitCode === null) throw new Error(`${name} is still running (pid ${entry.pid})`);
    return this.start(name, entry.command, entry.args, entry.env);
  }

  #latest(name: string): Entry {
    const entry = this.#entries.findLast((e) => e.name === name);
    if (!entry) throw new Error(`no process named ${name}`);
    return entry;
  }

  /** An exited process that was started again since. */
  #restarted(entry: Entry): boolean {
    return this.#latest(entry.name) !== entry;
  }

  async stop(): Promise<void> {
    // Reverse start order: dependents first, etcd last.
    for (const entry of [...this.#entries].reverse()) {
      if (entry.exitCode !== null) continue;
      signalGroup(entry.pid, "SIGTERM");
      const stopped = await Promise.race([entry.exited.then(() => true), delay(STOP_GRACE_MS).then(() => false)]);
      if (!stopped) {
        this.#logger.warn({ process: entry.name, pid: entry.pid }, "process ignored SIGTERM; killing it");
        signalGroup(entry.pid, "SIGKILL");
        await entry.exited;
      }
    }
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
