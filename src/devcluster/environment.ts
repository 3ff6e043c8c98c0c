import { mkdir } from "node:fs/promises";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { applyObjects } from "../kube/apply.ts";
import { startKubevirtSimulator, type KubevirtSimulator, type SimulatorOptions } from "../simulator/simulator.ts";
import { kubeadmBootstrapObjects } from "./bootstrap-rbac.ts";
import { startKwok, type Kwok } from "./kwok.ts";
import { installProjectResources } from "./project-resources.ts";

const FIELD_MANAGER = "maroonedpods-devcluster";

/** A cluster to run against: the local control plane, or one given by a kubeconfig. */
export interface ClusterConnection {
  readonly server: string;
  readonly caPem: string;
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
}

export interface DevEnvironment {
  readonly simulator: KubevirtSimulator;
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

/**
 * What every dev or test cluster gets on top of its API server: the kubeadm
 * bootstrap-token RBAC, the project's CRD, namespaces and RBAC (unless told not to), kwok as the kubelet
 * of simulated guests, and the KubeVirt simulator. Stops what it started if any part fails.
 */
export async function startDevEnvironment(options: {
  cluster: ClusterConnection;
  kwokBinary: string;
  logDir: string;
  logger: Logger;
  simulator: SimulatorOptions;
  nodeLeaseDurationSeconds: number;
  /** false: leave the project's CRD, namespaces and RBAC to `maroonedpods install`. */
  projectResources?: boolean;
}): Promise<DevEnvironment> {
  const { cluster, logger } = options;
  await mkdir(options.logDir, { recursive: true });
  await applyObjects(cluster.kubeConfig, kubeadmBootstrapObjects({ server: cluster.server, caPem: cluster.caPem }), FIELD_MANAGER);
  if (options.projectResources !== false) await installProjectResources(cluster.kubeConfig);
  const kwok: Kwok = await startKwok({
    binary: options.kwokBinary,
    kubeconfigPath: cluster.kubeconfigPath,
    logDir: options.logDir,
    logger,
    nodeLeaseDurationSeconds: options.nodeLeaseDurationSeconds,
  });
  let simulator: KubevirtSimulator;
  try {
    logger.info({ component: "kubevirt-simulator" }, "starting the KubeVirt simulator");
    simulator = await startKubevirtSimulator({ kubeConfig: cluster.kubeConfig, logger, options: options.simulator });
  } catch (error) {
    await kwok.stop();
    throw error;
  }
  return {
    simulator,
    get pids() {
      return kwok.pids;
    },
    async stop() {
      await simulator.stop();
      await kwok.stop();
    },
  };
}

