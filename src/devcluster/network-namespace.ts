import type { Logger } from "pino";
import { lastLine, PrerequisiteError, runTool } from "./prerequisites.ts";

/**
 * A network namespace of the dev environment's own: real VMs, their bridge and the control plane that serves them
 * live in it, so no packet of theirs leaves the machine and nothing in the host's namespace talks to anything but
 * loopback. Created and removed by the host side of `maroonedpods dev --vm-runtime qemu`.
 */
export interface NetworkNamespace {
  readonly name: string;
  /** Argv prefix that runs a command inside the namespace. */
  readonly exec: readonly string[];
  /** SIGKILLs every process still inside, then deletes the namespace. Safe to call twice. */
  remove(): Promise<void>;
}

async function ip(args: readonly string[]): Promise<string> {
  const run = await runTool("ip", args);
  if (run.status === null) throw new PrerequisiteError("`ip` is not on PATH: apt-get install iproute2");
  if (run.status !== 0) throw new Error(`ip ${args.join(" ")} failed: ${lastLine(run.stderr) || `exit ${String(run.status)}`}`);
  return run.stdout;
}

export async function createNetworkNamespace(name: string, logger: Logger): Promise<NetworkNamespace> {
  try {
    await ip(["netns", "add", name]);
  } catch (error) {
    if (error instanceof PrerequisiteError) throw error;
    throw new PrerequisiteError(`cannot create network namespace ${name} (${(error as Error).message}): run as root or with CAP_NET_ADMIN and CAP_SYS_ADMIN`);
  }
  let removed = false;
  const remove = async () => {
    if (removed) return;
    removed = true;
    const pids = (await ip(["netns", "pids", name]).catch(() => "")).split("\n").map((line) => Number(line.trim())).filter((pid) => pid > 0);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    if (pids.length > 0) logger.warn({ netns: name, pids }, "killed processes left in the dev network namespace");
    await ip(["netns", "delete", name]);
    logger.info({ netns: name }, "removed the dev network namespace");
  };
  try {
    await ip(["-n", name, "link", "set", "lo", "up"]);
  } catch (error) {
    await remove();
    throw error;
  }
  logger.info({ netns: name }, "created the dev network namespace");
  return { name, exec: ["ip", "netns", "exec", name], remove };
}
