import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { DEFAULT_ADMISSION_SETTINGS } from "../../webhook/settings.ts";
import { DEFAULT_CONTROLLER_SERVICE_ACCOUNT, DEFAULT_SYSTEM_NAMESPACE, DEFAULT_VM_NAMESPACE } from "../api/names.ts";
import { withServer } from "../kube/kubeconfig.ts";
import { startUnixToTcpRelay } from "../qemu/relay.ts";
import { QEMU_RUNTIME_DEFAULTS } from "../qemu/constants.ts";
import { parseSubnet } from "../qemu/network-plan.ts";
import { serviceAccountKubeConfig } from "./service-account.ts";
import { startController } from "../controller/runtime.ts";
import { announceReadyUntilSignal } from "../util/signals.ts";
import { startDevAdmission } from "./admission.ts";
import { ensureControlPlaneBinaries, type BinaryPaths } from "./binaries.ts";
import { startControlPlane, type ControlPlane } from "./control-plane.ts";
import { startDevEnvironment, type ClusterConnection } from "./environment.ts";
import { GUEST_NETWORK_HANDOFF_ENV, parseGuestNetworkHandoff, runQemuDevHost, type GuestNetworkHandoff } from "./qemu-dev-host.ts";
import { startRealVmEnvironment } from "./real-vm-environment.ts";
import { CONTROL_PLANE_VERSIONS, defaultCacheRoot } from "./versions.ts";

const NODE_MONITOR_GRACE_SECONDS = 20;

export type VmRuntimeName = "simulated" | "qemu";

export interface DevSessionOptions {
  readonly vmRuntime: VmRuntimeName;
  readonly bootDelayMs: number;
  readonly phaseDelayMs: number;
  readonly kubeconfigOut: string;
  readonly logger: Logger;
}

interface Stoppable {
  stop(): Promise<void>;
}

/** What differs between the two VM runtimes: where the control plane listens, what boots the VMs, the address guests use. */
interface VmRuntimeSetup {
  readonly controlPlane: { readonly guestFacingAddress?: string; readonly apiServerPort?: number };
  /** The API server as the controller (and so the join info) names it. */
  controllerServer(controlPlane: ControlPlane): string;
  start(cluster: ClusterConnection, binaries: BinaryPaths, controlPlane: ControlPlane): Promise<Stoppable>;
}

function simulatedSetup(options: DevSessionOptions): VmRuntimeSetup {
  return {
    controlPlane: {},
    controllerServer: (controlPlane) => controlPlane.server,
    start: (cluster, binaries, controlPlane) =>
      startDevEnvironment({
        cluster,
        kwokBinary: binaries.kwok,
        logDir: join(controlPlane.workDir, "logs"),
        logger: options.logger,
        simulator: { phaseDelayMs: options.phaseDelayMs, bootDelayMs: options.bootDelayMs },
        nodeLeaseDurationSeconds: NODE_MONITOR_GRACE_SECONDS / 2,
      }),
  };
}

function realVmSetup(options: DevSessionOptions, handoff: GuestNetworkHandoff): VmRuntimeSetup {
  // The bridge the runtime makes takes this address; the API server is served there before the bridge exists.
  const { gatewayIp } = parseSubnet(QEMU_RUNTIME_DEFAULTS.subnet);
  const guestServer = `https://${gatewayIp}:${String(handoff.apiServerPort)}`;
  return {
    controlPlane: { guestFacingAddress: gatewayIp, apiServerPort: handoff.apiServerPort },
    controllerServer: () => guestServer,
    async start(cluster, _binaries, controlPlane) {
      const relay = await startUnixToTcpRelay({ socketPath: handoff.apiServerSocket, host: "127.0.0.1", port: handoff.apiServerPort });
      try {
        const environment = await startRealVmEnvironment({ cluster, guestServer, image: handoff.image, workDir: join(controlPlane.workDir, "vms"), logger: options.logger });
        return { stop: async () => { await environment.stop(); await relay.stop(); } };
      } catch (error) {
        await relay.stop();
        throw error;
      }
    },
  };
}

/**
 * `maroonedpods dev`: everything up, one ready line, then wait for a signal and tear it all down. With real VMs the
 * first call is the host side, which runs this again inside the dev network namespace (see qemu-dev-host.ts).
 */
export async function runDevSession(options: DevSessionOptions): Promise<void> {
  if (options.vmRuntime === "simulated") return runSession(options, simulatedSetup(options));
  const handoff = parseGuestNetworkHandoff(process.env[GUEST_NETWORK_HANDOFF_ENV]);
  if (handoff !== undefined) return runSession(options, realVmSetup(options, handoff));
  const code = await runQemuDevHost({ argv: process.argv.slice(1), logger: options.logger });
  if (code !== 0) throw new Error(`the dev session inside the network namespace exited with ${String(code)}`);
}

async function runSession(options: DevSessionOptions, setup: VmRuntimeSetup): Promise<void> {
  const { logger, kubeconfigOut } = options;
  const started = Date.now();
  const binaries = await ensureControlPlaneBinaries({ cacheRoot: defaultCacheRoot(process.env), versions: CONTROL_PLANE_VERSIONS, logger });
  const controlPlane = await startControlPlane({ binaries, logger, nodeMonitorGracePeriodSeconds: NODE_MONITOR_GRACE_SECONDS, ...setup.controlPlane });
  logger.info({ workDir: controlPlane.workDir }, "control plane up; component logs are under the work directory until shutdown");
  const cluster = { server: controlPlane.server, caPem: controlPlane.caPem, kubeconfigPath: controlPlane.adminKubeconfigPath, kubeConfig: controlPlane.kubeConfig };
  let environment: Stoppable | undefined;
  let webhook: Stoppable | undefined;
  let controller: Stoppable;
  try {
    environment = await setup.start(cluster, binaries, controlPlane);
    logger.info({ component: "webhook" }, "starting the admission webhook and registering it with the policies");
    webhook = await startDevAdmission({ kubeConfig: controlPlane.kubeConfig, settings: DEFAULT_ADMISSION_SETTINGS, workDir: controlPlane.workDir, logger });
    logger.info({ component: "controller" }, "starting the controller");
    controller = await startDevController(controlPlane.kubeConfig, setup.controllerServer(controlPlane), logger);
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

function startDevController(admin: KubeConfig, server: string, logger: Logger): Promise<Stoppable> {
  return serviceAccountKubeConfig(admin, { namespace: DEFAULT_SYSTEM_NAMESPACE, name: DEFAULT_CONTROLLER_SERVICE_ACCOUNT }).then((account) =>
    startController({
      // As its deployed ServiceAccount: the policies trust that identity only, and RBAC is what deploy/ grants.
      kubeConfig: withServer(account, server),
      logger: logger.child({ component: "controller" }),
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      vmNamespace: DEFAULT_VM_NAMESPACE,
      identity: "dev",
      leaderElection: false,
      workers: 4,
      opsHost: "127.0.0.1",
      opsPort: 0,
      orphanSweepIntervalMs: 60_000,
    }),
  );
}
