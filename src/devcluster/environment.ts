import { mkdir } from "node:fs/promises";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { applyObjects } from "../kube/apply.ts";
import { startKubevirtSimulator, type KubevirtSimulator, type SimulatorOptions } from "../simulator/simulator.ts";
import { kubeadmBootstrapObjects } from "./bootstrap-rbac.ts";
import { DEV_CLUSTER_NAME, SERVICE_CIDR } from "./control-plane.ts";
import { startKwok, type Kwok } from "./kwok.ts";
import { CONTROL_PLANE_VERSIONS } from "./versions.ts";
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
 * What a joining node's kubeadm reads (signed cluster-info naming `clusterInfoServer`, the join ConfigMaps and their
 * RBAC) and, unless told not to, the project's CRD, namespaces and RBAC.
 */
export async function prepareDevCluster(cluster: ClusterConnection, options: { clusterInfoServer: string; projectResources: boolean }): Promise<void> {
  const clusterFacts = { kubernetesVersion: CONTROL_PLANE_VERSIONS.kubernetes, clusterName: DEV_CLUSTER_NAME, serviceSubnet: SERVICE_CIDR };
  await applyObjects(cluster.kubeConfig, kubeadmBootstrapObjects({ server: options.clusterInfoServer, caPem: cluster.caPem, cluster: clusterFacts }), FIELD_MANAGER);
  if (options.projectResources) await installProjectResources(cluster.kubeConfig);
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
  await prepareDevCluster(cluster, { clusterInfoServer: cluster.server, projectResources: options.projectResources !== false });
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

