import { resolve } from "node:path";
import { parseDurationMs, UsageError, type Command } from "./command.ts";
import { createCliLogger, LOGGING_OPTIONS } from "./logger.ts";

const VM_RUNTIMES = ["simulated", "qemu"] as const;
const isVmRuntime = (value: string): value is (typeof VM_RUNTIMES)[number] => (VM_RUNTIMES as readonly string[]).includes(value);

export const devCommand: Command = {
  name: "dev",
  summary: "run a local development cluster with simulated or real (QEMU) VMs",
  description:
    "Run a local development cluster: a real etcd, kube-apiserver, kube-scheduler and kube-controller-manager, " +
    "the KubeVirt stand-in, and the admission webhook with its policies. VMs are simulated (kwok as their kubelets) or, with --vm-runtime qemu, " +
    "real QEMU VMs booting the node image, each joining with its own kubelet, inside a network namespace of their own. Runs until SIGINT/SIGTERM, then removes everything it started.",
  options: {
    "kubeconfig-out": { type: "string", default: ".maroonedpods/kubeconfig", valueName: "PATH", description: "where to write the admin kubeconfig" },
    "vm-runtime": { type: "string", default: "simulated", valueName: "RUNTIME", description: "simulated (the KubeVirt simulator, kwok as kubelet) or qemu (a real VM per VMI, its own kubelet; Linux, QEMU, root)" },
    "vm-boot-delay": { type: "string", default: "15s", valueName: "DURATION", description: "simulated guest boot time from VMI Running to node join" },
    "vm-phase-delay": { type: "string", default: "500ms", valueName: "DURATION", description: "simulated time in each VMI phase before Running" },
    ...LOGGING_OPTIONS,
  },
  async run(values) {
    const vmRuntime = String(values["vm-runtime"]);
    if (!isVmRuntime(vmRuntime)) throw new UsageError(`--vm-runtime: ${JSON.stringify(vmRuntime)} is not one of ${VM_RUNTIMES.join(", ")}`);
    const options = {
      vmRuntime,
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
