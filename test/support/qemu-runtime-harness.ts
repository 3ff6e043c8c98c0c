/**
 * Runs inside a network namespace (`ip netns exec NS node qemu-runtime-harness.ts CONFIG_JSON`): a control plane
 * of its own and the QEMU VM runtime against it, as a dev session re-executed in its namespace runs them. The API
 * server is offered on a unix socket (reachable from the root namespace, which this namespace's loopback is not).
 * Prints JSON lines on stdout: `ready`, the runtime's VM events, `stopped`. SIGTERM stops it all.
 */
import { pino } from "pino";
import { ensureControlPlaneBinaries } from "../../src/devcluster/binaries.ts";
import { startControlPlane } from "../../src/devcluster/control-plane.ts";
import { CONTROL_PLANE_VERSIONS, defaultCacheRoot } from "../../src/devcluster/versions.ts";
import { startUnixToTcpRelay } from "../../src/qemu/relay.ts";
import { startQemuVmRuntime } from "../../src/qemu/runtime.ts";
import type { NodeVmImage } from "../../src/qemu/types.ts";

export interface HarnessConfig {
  readonly image: NodeVmImage;
  readonly workDir: string;
  readonly apiSocketPath: string;
  readonly logFile: string;
  readonly stopGraceMs: number;
}

const config = JSON.parse(process.argv[2] ?? "{}") as HarnessConfig;
const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);
const logger = pino({ level: "debug" }, pino.destination({ dest: config.logFile, sync: true }));

const stops: (() => Promise<unknown>)[] = [];
const stopAll = async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
};
try {
  const binaries = await ensureControlPlaneBinaries({ cacheRoot: defaultCacheRoot(process.env), versions: CONTROL_PLANE_VERSIONS, logger });
  const controlPlane = await startControlPlane({ binaries, logger });
  stops.push(() => controlPlane.stop());
  const relay = await startUnixToTcpRelay({ socketPath: config.apiSocketPath, host: "127.0.0.1", port: Number(new URL(controlPlane.server).port) });
  stops.push(() => relay.stop());
  const runtime = await startQemuVmRuntime({
    kubeConfig: controlPlane.kubeConfig,
    logger,
    options: { image: config.image, workDir: config.workDir, stopGraceMs: config.stopGraceMs, onVmEvent: (event) => { say({ ...event }); } },
  });
  stops.push(() => runtime.stop());
  process.once("SIGTERM", () => {
    void stopAll().then(() => {
      say({ type: "stopped" });
      process.exit(0);
    });
  });
  say({ type: "ready", adminKubeconfigPath: controlPlane.adminKubeconfigPath, gatewayIp: runtime.gatewayIp, accelerator: runtime.accelerator });
} catch (error) {
  say({ type: "error", message: (error as Error).message });
  await stopAll();
  process.exit(1);
}
