import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { ensureNodeVmImage } from "../qemu/image.ts";
import { startTcpToUnixRelay } from "../qemu/relay.ts";
import { isRecord } from "../util/guards.ts";
import { ensureControlPlaneBinaries } from "./binaries.ts";
import { createNetworkNamespace } from "./network-namespace.ts";
import { freeLoopbackPort } from "./ports.ts";
import { CONTROL_PLANE_VERSIONS, defaultCacheRoot } from "./versions.ts";

/** How the host side hands the dev session inside the namespace what it prepared (the image needs the network to build). */
export const GUEST_NETWORK_HANDOFF_ENV = "MAROONEDPODS_DEV_GUEST_NETWORK";

export interface GuestNetworkHandoff {
  readonly netns: string;
  /** The API server's port: the same number inside the namespace and on the host's loopback. */
  readonly apiServerPort: number;
  /** Where the host's relay connects; the session inside listens here and forwards to its API server. */
  readonly apiServerSocket: string;
  readonly image: { readonly kernel: string; readonly initrd: string; readonly rootfs: string };
}

export function parseGuestNetworkHandoff(text: string | undefined): GuestNetworkHandoff | undefined {
  if (text === undefined || text === "") return undefined;
  const value: unknown = JSON.parse(text);
  const image = isRecord(value) ? value.image : undefined;
  if (!isRecord(value) || !isRecord(image) || typeof value.netns !== "string" || typeof value.apiServerPort !== "number" || typeof value.apiServerSocket !== "string"
    || typeof image.kernel !== "string" || typeof image.initrd !== "string" || typeof image.rootfs !== "string") {
    throw new Error(`${GUEST_NETWORK_HANDOFF_ENV} is not a guest network handoff`);
  }
  return { netns: value.netns, apiServerPort: value.apiServerPort, apiServerSocket: value.apiServerSocket, image: { kernel: image.kernel, initrd: image.initrd, rootfs: image.rootfs } };
}

/**
 * The host side of `maroonedpods dev --vm-runtime qemu`: builds what needs the network (control-plane binaries, the
 * node image), makes the namespace, relays the API server's port from the namespace to the host's loopback through a
 * unix socket (a file both namespaces see), and runs the same dev session inside the namespace. SIGINT/SIGTERM go to
 * that session; once it has exited, whatever is left in the namespace is killed and the namespace removed.
 */
export async function runQemuDevHost(options: { argv: readonly string[]; logger: Logger }): Promise<number> {
  const { logger } = options;
  const cacheRoot = defaultCacheRoot(process.env);
  await ensureControlPlaneBinaries({ cacheRoot, versions: CONTROL_PLANE_VERSIONS, logger });
  const image = await ensureNodeVmImage({ cacheRoot, logger });
  const socketDir = await mkdtemp(join(tmpdir(), "maroonedpods-relay-"));
  const netns = await createNetworkNamespace(`maroonedpods-dev-${String(process.pid)}`, logger);
  const handoff: GuestNetworkHandoff = {
    netns: netns.name,
    apiServerPort: await freeLoopbackPort(),
    apiServerSocket: join(socketDir, "apiserver.sock"),
    image: { kernel: image.kernel, initrd: image.initrd, rootfs: image.rootfs },
  };
  const relay = await startTcpToUnixRelay({ host: "127.0.0.1", port: handoff.apiServerPort, socketPath: handoff.apiServerSocket });
  try {
    const [command = "ip", ...prefix] = netns.exec;
    const child = spawn(command, [...prefix, process.execPath, ...options.argv], {
      stdio: "inherit",
      env: { ...process.env, [GUEST_NETWORK_HANDOFF_ENV]: JSON.stringify(handoff) },
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    const code = await new Promise<number>((resolve) => {
      child.on("error", (error) => {
        logger.error({ err: error }, "could not start the dev session inside the network namespace");
        resolve(1);
      });
      child.on("exit", (exitCode, signal) => { resolve(exitCode ?? (signal === null ? 1 : 128)); });
    });
    process.off("SIGINT", forward);
    process.off("SIGTERM", forward);
    return code;
  } finally {
    await relay.stop();
    await netns.remove();
    await rm(socketDir, { recursive: true, force: true });
  }
}
