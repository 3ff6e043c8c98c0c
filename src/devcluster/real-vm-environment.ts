import type { Logger } from "pino";
import { CONFIG_GROUP, CONFIG_NAME, CONFIG_VERSION } from "../controller/config.ts";
import { applyObjects } from "../kube/apply.ts";
import { startQemuVmRuntime } from "../qemu/runtime.ts";
import type { NodeVmImage } from "../qemu/types.ts";
import { prepareDevCluster, type ClusterConnection } from "./environment.ts";

/**
 * The dev cluster with real VMs: what a kubeadm join reads (cluster-info naming the address guests reach), the
 * project's resources, and the QEMU runtime in place of kwok and the simulated guest. Runs inside the dev network
 * namespace.
 */
export async function startRealVmEnvironment(options: {
  cluster: ClusterConnection;
  /** The API server as guests reach it, over the VM bridge. */
  guestServer: string;
  image: NodeVmImage;
  workDir: string;
  logger: Logger;
}): Promise<{ stop(): Promise<void> }> {
  const { cluster, logger } = options;
  await prepareDevCluster(cluster, { clusterInfoServer: options.guestServer, projectResources: true });
  // The node image built here is the kubeadm flavor.
  const config = { apiVersion: `${CONFIG_GROUP}/${CONFIG_VERSION}`, kind: "MaroonedPodsConfig", metadata: { name: CONFIG_NAME }, spec: { joinMethod: "kubeadm" } };
  await applyObjects(cluster.kubeConfig, [config], "maroonedpods-devcluster");
  logger.info({ component: "qemu-runtime", workDir: options.workDir }, "starting the QEMU VM runtime");
  return startQemuVmRuntime({ kubeConfig: cluster.kubeConfig, logger, options: { image: options.image, workDir: options.workDir } });
}
