import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { ensureControlPlaneBinaries } from "../../src/devcluster/binaries.ts";
import { startControlPlane, type ControlPlane } from "../../src/devcluster/control-plane.ts";
import { startDevEnvironment } from "../../src/devcluster/environment.ts";
import { CONTROL_PLANE_VERSIONS, defaultCacheRoot } from "../../src/devcluster/versions.ts";

export interface OwnCluster {
  readonly kubeconfigPath: string;
  readonly admin: KubeConfig;
  /** Kills and restarts etcd or the API server, for the reliability tests. */
  readonly faults: ControlPlane["faults"];
  stop(): Promise<void>;
}

/**
 * A local control plane of its own, with kwok and the KubeVirt simulator but
 * none of the project's resources unless asked: for tests that install and
 * uninstall MaroonedPods itself, or break the control plane, which must not
 * touch the cluster the other files share.
 */
export async function startOwnCluster(options: { projectResources?: boolean } = {}): Promise<OwnCluster> {
  const logger = pino({ level: process.env.MAROONEDPODS_TEST_LOG_LEVEL ?? "error" });
  const binaries = await ensureControlPlaneBinaries({ cacheRoot: defaultCacheRoot(process.env), versions: CONTROL_PLANE_VERSIONS, logger });
  const logDir = await mkdtemp(join(tmpdir(), "maroonedpods-own-cluster-"));
  const controlPlane = await startControlPlane({ binaries, logger, nodeMonitorGracePeriodSeconds: 12 });
  const admin = controlPlane.kubeConfig;
  try {
    const environment = await startDevEnvironment({
      cluster: { server: controlPlane.server, caPem: controlPlane.caPem, kubeconfigPath: controlPlane.adminKubeconfigPath, kubeConfig: admin },
      kwokBinary: binaries.kwok,
      logDir,
      logger,
      simulator: { phaseDelayMs: 50, bootDelayMs: 0 },
      nodeLeaseDurationSeconds: 6,
      projectResources: options.projectResources ?? false,
    });
    return {
      kubeconfigPath: controlPlane.adminKubeconfigPath,
      admin,
      faults: controlPlane.faults,
      async stop() {
        await environment.stop();
        await controlPlane.stop();
        await rm(logDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await controlPlane.stop();
    throw error;
  }
}
