import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import { DEFAULT_ADMISSION_SETTINGS } from "../../webhook/settings.ts";
import { DEFAULT_CONTROLLER_SERVICE_ACCOUNT, DEFAULT_SYSTEM_NAMESPACE, DEFAULT_VM_NAMESPACE } from "../api/names.ts";
import { serviceAccountKubeConfig } from "./service-account.ts";
import { startController } from "../controller/runtime.ts";
import { announceReadyUntilSignal } from "../util/signals.ts";
import { startDevAdmission } from "./admission.ts";
import { ensureControlPlaneBinaries } from "./binaries.ts";
import { startControlPlane } from "./control-plane.ts";
import { startDevEnvironment } from "./environment.ts";
import { CONTROL_PLANE_VERSIONS, defaultCacheRoot } from "./versions.ts";

const NODE_MONITOR_GRACE_SECONDS = 20;

export interface DevSessionOptions {
  readonly bootDelayMs: number;
  readonly phaseDelayMs: number;
  readonly kubeconfigOut: string;
  readonly logger: Logger;
}

/** `maroonedpods dev`: everything up, one ready line, then wait for a signal and tear it all down. */
export async function runDevSession(options: DevSessionOptions): Promise<void> {
  const { logger, kubeconfigOut } = options;
  const started = Date.now();
  const binaries = await ensureControlPlaneBinaries({ cacheRoot: defaultCacheRoot(process.env), versions: CONTROL_PLANE_VERSIONS, logger });
  const controlPlane = await startControlPlane({ binaries, logger, nodeMonitorGracePeriodSeconds: NODE_MONITOR_GRACE_SECONDS });
  logger.info({ workDir: controlPlane.workDir }, "control plane up; component logs are under the work directory until shutdown");
  let environment;
  let webhook;
  let controller;
  try {
    environment = await startDevEnvironment({
      cluster: { server: controlPlane.server, caPem: controlPlane.caPem, kubeconfigPath: controlPlane.adminKubeconfigPath, kubeConfig: controlPlane.kubeConfig },
      kwokBinary: binaries.kwok,
      logDir: join(controlPlane.workDir, "logs"),
      logger,
      simulator: { phaseDelayMs: options.phaseDelayMs, bootDelayMs: options.bootDelayMs },
      nodeLeaseDurationSeconds: NODE_MONITOR_GRACE_SECONDS / 2,
    });
    logger.info({ component: "webhook" }, "starting the admission webhook and registering it with the policies");
    webhook = await startDevAdmission({ kubeConfig: controlPlane.kubeConfig, settings: DEFAULT_ADMISSION_SETTINGS, workDir: controlPlane.workDir, logger });
    logger.info({ component: "controller" }, "starting the controller");
    controller = await startController({
      // As its deployed ServiceAccount: the policies trust that identity only, and RBAC is what deploy/ grants.
      kubeConfig: await serviceAccountKubeConfig(controlPlane.kubeConfig, { namespace: DEFAULT_SYSTEM_NAMESPACE, name: DEFAULT_CONTROLLER_SERVICE_ACCOUNT }),
      logger: logger.child({ component: "controller" }),
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      vmNamespace: DEFAULT_VM_NAMESPACE,
      identity: "dev",
      leaderElection: false,
      workers: 4,
      opsHost: "127.0.0.1",
      opsPort: 0,
      orphanSweepIntervalMs: 60_000,
    });
    await mkdir(dirname(kubeconfigOut), { recursive: true });
    await controlPlane.writeAdminKubeconfig(kubeconfigOut);
  } catch (error) {
    await webhook?.stop();
    await environment?.stop();
    await controlPlane.stop();
    throw error;
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  await announceReadyUntilSignal(logger, `maroonedpods dev: ready in ${seconds}s; Kubernetes ${CONTROL_PLANE_VERSIONS.kubernetes} at ${controlPlane.server}; kubectl --kubeconfig ${kubeconfigOut} get nodes`);
  await controller.stop();
  await webhook.stop();
  await environment.stop();
  await controlPlane.stop();
  logger.info("stopped");
}
