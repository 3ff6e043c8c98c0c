import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { freeLoopbackPort } from "./ports.ts";
import { ProcessGroup } from "./processes.ts";
import { waitUntilHealthy } from "./health.ts";

/** Given stages for a kind, kwok uses those instead of its built-in ones. */
const STAGE_FILES = ["./kwok-node-stages.yaml", "./kwok-pod-stages.yaml"].map((file) => fileURLToPath(new URL(file, import.meta.url)));

/**
 * Nodes carrying this label get their heartbeats and pods from kwok. A label,
 * not an annotation: label selectors are evaluated by the API server, so when
 * the label goes, kwok's watch sees the node leave and stops its lease.
 */
export const KWOK_MANAGED_LABEL = "kwok.x-k8s.io/node";
export const KWOK_MANAGED_VALUE = "fake";

export interface Kwok {
  stop(): Promise<void>;
  readonly pids: readonly number[];
}

/**
 * Runs kwok as the kubelet of every node labeled kwok.x-k8s.io/node=fake:
 * it heartbeats those nodes through Leases and runs the pods bound to them.
 */
export async function startKwok(options: {
  binary: string;
  kubeconfigPath: string;
  logDir: string;
  logger: Logger;
  /** Should stay well under the controller-manager's node-monitor grace period. */
  nodeLeaseDurationSeconds: number;
}): Promise<Kwok> {
  const processes = new ProcessGroup(options.logDir, options.logger);
  const port = await freeLoopbackPort();
  options.logger.info({ component: "kwok" }, "starting kwok");
  processes.start("kwok", options.binary, [
    `--kubeconfig=${options.kubeconfigPath}`,
    "--manage-all-nodes=false",
    `--manage-nodes-with-label-selector=${KWOK_MANAGED_LABEL}=${KWOK_MANAGED_VALUE}`,
    `--server-address=127.0.0.1:${port}`,
    `--node-lease-duration-seconds=${options.nodeLeaseDurationSeconds}`,
    ...STAGE_FILES.map((file) => `--config=${file}`),
  ]);
  try {
    await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`, { processes, timeoutMs: 60_000 });
  } catch (error) {
    await processes.stop();
    throw error;
  }
  return {
    stop: () => processes.stop(),
    get pids() {
      return processes.pids;
    },
  };
}
