import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { deleteLink, linkNames } from "./network.ts";

const GONE_WAIT_MS = 3_000;

async function cmdlineOf(pid: number): Promise<string | undefined> {
  return readFile(`/proc/${pid}/cmdline`, "utf8").then((text) => text.replaceAll("\0", " "), () => undefined);
}

/** Kills the process a pid file names if it is still ours (its command line mentions `workDir`): a pid may be reused. */
async function killIfOurs(pidFile: string, workDir: string, logger: Logger): Promise<void> {
  const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  if (!(await cmdlineOf(pid))?.includes(workDir)) return;
  logger.warn({ pid, pidFile }, "killing a process left by an earlier QEMU runtime");
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    process.kill(pid, "SIGKILL");
  }
  const deadline = Date.now() + GONE_WAIT_MS;
  while ((await cmdlineOf(pid)) !== undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
}

/**
 * What an earlier runtime left when it died without stopping (its children get SIGKILL with it, but files and
 * links stay): processes its pid files still name, VM directories, the bridge and the taps. All of it is ours.
 */
export async function removeLeftovers(options: { workDir: string; vmsDir: string; netDir: string; bridge: string; tapPrefix: string; logger: Logger }): Promise<void> {
  const { workDir, vmsDir, netDir, logger } = options;
  const vmDirs = await readdir(vmsDir).catch(() => [] as string[]);
  for (const dir of vmDirs) await killIfOurs(join(vmsDir, dir, "qemu.pid"), workDir, logger);
  await killIfOurs(join(netDir, "dnsmasq.pid"), workDir, logger);
  if (vmDirs.length > 0) logger.warn({ vmDirs: vmDirs.length }, "removing VM directories left by an earlier QEMU runtime");
  await rm(vmsDir, { recursive: true, force: true });
  await rm(netDir, { recursive: true, force: true });
  for (const link of await linkNames()) {
    if (link === options.bridge || link.startsWith(options.tapPrefix)) {
      logger.warn({ link }, "deleting a network link left by an earlier QEMU runtime");
      await deleteLink(link);
    }
  }
}
