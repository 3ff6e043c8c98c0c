/**
 * The pipeline benchmark's cluster, in its own process so its work (the KubeVirt
 * simulator above all) never delays the benchmark's clock: the local control
 * plane, kwok and the simulator at zero boot delay. Not the webhook nor the
 * controller: the benchmark starts those as processes of their own.
 *
 * `node bench/cluster.ts KUBECONFIG_OUT`: writes the admin kubeconfig there,
 * prints `{"ready":true,...}`, and tears everything down on SIGTERM or SIGINT.
 */
import { pino } from "pino";
import { ensureControlPlaneBinaries } from "../src/devcluster/binaries.ts";
import { startControlPlane } from "../src/devcluster/control-plane.ts";
import { startDevEnvironment } from "../src/devcluster/environment.ts";
import { CONTROL_PLANE_VERSIONS, defaultCacheRoot } from "../src/devcluster/versions.ts";
import { shareConnections } from "../src/kube/connections.ts";
import { announceReadyUntilSignal } from "../src/util/signals.ts";

/**
 * A kubelet's defaults (lease 40 s, renewed every 10 s; grace 50 s), not the dev
 * cluster's quick ones: with a thousand simulated nodes, faster heartbeats
 * would be most of the API server's load (a 10 s lease: 400 Lease writes/s).
 */
const NODE_LEASE_SECONDS = 40;
const NODE_MONITOR_GRACE_SECONDS = 50;

const kubeconfigOut = process.argv[2];
if (kubeconfigOut === undefined) {
  process.stderr.write("usage: node bench/cluster.ts KUBECONFIG_OUT\n");
  process.exit(2);
}
const logger = pino({ level: "warn", base: undefined }, process.stderr);
const binaries = await ensureControlPlaneBinaries({ cacheRoot: defaultCacheRoot(process.env), versions: CONTROL_PLANE_VERSIONS, logger });
const controlPlane = await startControlPlane({ binaries, logger, nodeMonitorGracePeriodSeconds: NODE_MONITOR_GRACE_SECONDS });
// The simulator's clients share their connections, as the controller's do (src/kube/connections.ts).
shareConnections(controlPlane.kubeConfig);
let environment;
try {
  environment = await startDevEnvironment({
    cluster: { server: controlPlane.server, caPem: controlPlane.caPem, kubeconfigPath: controlPlane.adminKubeconfigPath, kubeConfig: controlPlane.kubeConfig },
    kwokBinary: binaries.kwok,
    logDir: `${controlPlane.workDir}/logs`,
    logger,
    simulator: { phaseDelayMs: 0, bootDelayMs: 0 },
    nodeLeaseDurationSeconds: NODE_LEASE_SECONDS,
  });
  await controlPlane.writeAdminKubeconfig(kubeconfigOut);
} catch (error) {
  await controlPlane.stop();
  throw error;
}
await announceReadyUntilSignal(logger, JSON.stringify({ ready: true, server: controlPlane.server, pids: [...controlPlane.pids, ...environment.pids] }));
await environment.stop();
await controlPlane.stop();
