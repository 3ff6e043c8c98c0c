import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import type { TestProject } from "vitest/node";
import { ensureControlPlaneBinaries } from "../../src/devcluster/binaries.ts";
import { startControlPlane } from "../../src/devcluster/control-plane.ts";
import { startDevEnvironment, type ClusterConnection } from "../../src/devcluster/environment.ts";
import { CONTROL_PLANE_VERSIONS, defaultCacheRoot } from "../../src/devcluster/versions.ts";
import { chooseCluster } from "./cluster-choice.ts";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfigPath: string;
    clusterKind: string;
  }
}

const NODE_MONITOR_GRACE_SECONDS = 12;
const K3S_IMAGE = "rancher/k3s:v1.35.4-k3s1";

function connectionFromKubeconfig(kubeconfigPath: string): ClusterConnection {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster?.caData) throw new Error(`${kubeconfigPath}: the current cluster needs certificate-authority-data`);
  return { server: cluster.server, caPem: Buffer.from(cluster.caData, "base64").toString("utf8"), kubeconfigPath, kubeConfig };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const logger = pino({ level: process.env.MAROONEDPODS_TEST_LOG_LEVEL ?? "error" });
  const started = Date.now();
  const binaries = await ensureControlPlaneBinaries({ cacheRoot: defaultCacheRoot(process.env), versions: CONTROL_PLANE_VERSIONS, logger });
  const workDir = await mkdtemp(join(tmpdir(), "maroonedpods-test-"));
  const choice = await chooseCluster(process.env);
  const cleanups: (() => Promise<void>)[] = [() => rm(workDir, { recursive: true, force: true })];
  const teardown = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };

  try {
    let cluster: ClusterConnection;
    if (choice.kind === "existing") {
      cluster = connectionFromKubeconfig(choice.kubeconfigPath);
    } else if (choice.kind === "k3s-container") {
      const { K3sContainer } = await import("@testcontainers/k3s");
      const container = await new K3sContainer(K3S_IMAGE).start();
      cleanups.push(async () => {
        await container.stop();
      });
      const path = join(workDir, "k3s.kubeconfig");
      await writeFile(path, container.getKubeConfig(), { mode: 0o600 });
      cluster = connectionFromKubeconfig(path);
    } else {
      const controlPlane = await startControlPlane({ binaries, logger, nodeMonitorGracePeriodSeconds: NODE_MONITOR_GRACE_SECONDS });
      cleanups.push(() => controlPlane.stop());
      cluster = connectionFromKubeconfig(controlPlane.adminKubeconfigPath);
    }
    const environment = await startDevEnvironment({
      cluster,
      kwokBinary: binaries.kwok,
      logDir: join(workDir, "logs"),
      logger,
      simulator: { phaseDelayMs: 50, bootDelayMs: 0 },
      nodeLeaseDurationSeconds: NODE_MONITOR_GRACE_SECONDS / 2,
    });
    cleanups.push(() => environment.stop());
    project.provide("kubeconfigPath", cluster.kubeconfigPath);
    project.provide("clusterKind", choice.kind);
    logger.warn({ cluster: choice.kind, seconds: (Date.now() - started) / 1000, server: cluster.server }, "test cluster ready");
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
