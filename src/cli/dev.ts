import { resolve } from "node:path";
import { parseDurationMs, type Command } from "./command.ts";
import { createCliLogger, LOGGING_OPTIONS } from "./logger.ts";

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
    const options = {
      bootDelayMs: parseDurationMs("vm-boot-delay", String(values["vm-boot-delay"])),
      phaseDelayMs: parseDurationMs("vm-phase-delay", String(values["vm-phase-delay"])),
      kubeconfigOut: resolve(String(values["kubeconfig-out"])),
      logger: createCliLogger(String(values["log-format"]), String(values["log-level"])),
    };
    // Loaded on use: the dev stack (client-node, PKI, simulator) would add ~100 MiB to every other command.
    const { runDevSession } = await import("../devcluster/dev-session.ts");
    await runDevSession(options);
    return 0;
  },
};
