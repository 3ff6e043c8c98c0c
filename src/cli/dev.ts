import { mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ensureControlPlaneBinaries } from "../devcluster/binaries.ts";
import { startControlPlane } from "../devcluster/control-plane.ts";
import { startDevAdmission } from "../devcluster/admission.ts";
import { startDevEnvironment } from "../devcluster/environment.ts";
import { DEFAULT_ADMISSION_SETTINGS } from "../../webhook/settings.ts";
import { CONTROL_PLANE_VERSIONS, defaultCacheRoot } from "../devcluster/versions.ts";
import { parseDurationMs, type Command } from "./command.ts";
import { createCliLogger, LOGGING_OPTIONS } from "./logger.ts";
import { untilSignal } from "./signals.ts";

const NODE_MONITOR_GRACE_SECONDS = 20;

export const devCommand: Command = {
  name: "dev",
  summary: "run a local development cluster with the KubeVirt simulator",
  description:
    "Run a local development cluster: a real etcd, kube-apiserver, kube-scheduler and kube-controller-manager, " +
    "kwok for simulated kubelets, the KubeVirt simulator, and the admission webhook with its policies. Runs until SIGINT/SIGTERM, then removes everything it started.",
  options: {
    "kubeconfig-out": { type: "string", default: ".maroonedpods/kubeconfig", valueName: "PATH", description: "where to write the admin kubeconfig" },
    "vm-boot-delay": { type: "string", default: "15s", valueName: "DURATION", description: "simulated guest boot time from VMI Running to node join" },
    "vm-phase-delay": { type: "string", default: "500ms", valueName: "DURATION", description: "simulated time in each VMI phase before Running" },
    ...LOGGING_OPTIONS,
  },
  async run(values) {
    const bootDelayMs = parseDurationMs("vm-boot-delay", String(values["vm-boot-delay"]));
    const phaseDelayMs = parseDurationMs("vm-phase-delay", String(values["vm-phase-delay"]));
    const logger = createCliLogger(String(values["log-format"]), String(values["log-level"]));
    const kubeconfigOut = resolve(String(values["kubeconfig-out"]));
    const started = Date.now();

    const binaries = await ensureControlPlaneBinaries({ cacheRoot: defaultCacheRoot(process.env), versions: CONTROL_PLANE_VERSIONS, logger });
    const controlPlane = await startControlPlane({ binaries, logger, nodeMonitorGracePeriodSeconds: NODE_MONITOR_GRACE_SECONDS });
    logger.info({ workDir: controlPlane.workDir }, "control plane up; component logs are under the work directory until shutdown");
    let environment;
    let webhook;
    try {
      environment = await startDevEnvironment({
        cluster: { server: controlPlane.server, caPem: controlPlane.caPem, kubeconfigPath: controlPlane.adminKubeconfigPath, kubeConfig: controlPlane.kubeConfig },
        kwokBinary: binaries.kwok,
        logDir: join(controlPlane.workDir, "logs"),
        logger,
        simulator: { phaseDelayMs, bootDelayMs },
        nodeLeaseDurationSeconds: NODE_MONITOR_GRACE_SECONDS / 2,
      });
      logger.info({ component: "webhook" }, "starting the admission webhook and registering it with the policies");
      webhook = await startDevAdmission({ kubeConfig: controlPlane.kubeConfig, settings: DEFAULT_ADMISSION_SETTINGS, workDir: controlPlane.workDir, logger });
      await mkdir(dirname(kubeconfigOut), { recursive: true });
      await controlPlane.writeAdminKubeconfig(kubeconfigOut);
    } catch (error) {
      await environment?.stop();
      await controlPlane.stop();
      throw error;
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(`maroonedpods dev: ready in ${seconds}s; Kubernetes ${CONTROL_PLANE_VERSIONS.kubernetes} at ${controlPlane.server}; kubectl --kubeconfig ${kubeconfigOut} get nodes\n`);

    await untilSignal(logger);
    await webhook.stop();
    await environment.stop();
    await controlPlane.stop();
    logger.info("stopped");
    return 0;
  },
};
