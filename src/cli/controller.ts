import { hostname } from "node:os";
import { DEFAULT_SYSTEM_NAMESPACE, DEFAULT_VM_NAMESPACE } from "../api/names.ts";
import { announceReadyUntilSignal } from "../util/signals.ts";
import { booleanFlag, integerFlag, parseDurationMs, UsageError, type Command } from "./command.ts";
import { createCliLogger, LOGGING_OPTIONS } from "./logger.ts";
import { WEBHOOK_CERTIFICATE_OPTIONS, webhookCertificateSettings } from "./webhook-certificate-flags.ts";

export const controllerCommand: Command = {
  name: "controller",
  summary: "run the controller that gives each marooned pod its own VM node",
  description:
    "Run the controller: for each gated, managed pod it mints a bootstrap token, creates a KubeVirt VMI whose cloud-init " +
    "carries the join info, verifies and trusts the node the guest registers, releases the pod onto it, and tears it all " +
    "down when the pod ends. Configured by the MaroonedPodsConfig named default; with leader election only one replica acts. " +
    "With --manage-webhook-certificate=true it also keeps the webhook's CA, serving certificate Secret and caBundle rotated.",
  options: {
    kubeconfig: { type: "string", valueName: "PATH", description: "kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)" },
    namespace: { type: "string", default: DEFAULT_SYSTEM_NAMESPACE, valueName: "NAME", description: "namespace of the leader Lease, of the kube-root-ca.crt it pins and of the webhook's certificate Secrets" },
    "vm-namespace": { type: "string", default: DEFAULT_VM_NAMESPACE, valueName: "NAME", description: "namespace of the VMIs and their user-data Secrets, read once (the controller's Role there must match)" },
    "leader-elect": { type: "string", default: "true", valueName: "true|false", description: "hold a Lease so only one replica reconciles" },
    identity: { type: "string", valueName: "NAME", description: "leader election identity (default: hostname_pid)" },
    workers: { type: "string", default: "4", valueName: "N", description: "pods reconciled in parallel" },
    "ops-bind-address": { type: "string", default: "0.0.0.0", valueName: "ADDRESS", description: "address for /healthz, /readyz and /metrics" },
    "ops-port": { type: "string", default: "8081", valueName: "PORT", description: "port for /healthz, /readyz and /metrics (0 picks a free one)" },
    "orphan-sweep-interval": { type: "string", default: "60s", valueName: "DURATION", description: "how often to remove VMs, Secrets, tokens and nodes whose pod is gone" },
    ...WEBHOOK_CERTIFICATE_OPTIONS,
    ...LOGGING_OPTIONS,
  },
  async run(values) {
    const opsPort = Number(values["ops-port"]);
    if (!Number.isInteger(opsPort) || opsPort < 0 || opsPort > 65535) throw new UsageError(`--ops-port: ${JSON.stringify(values["ops-port"])} is not a port number`);
    const namespace = String(values.namespace);
    const settings = {
      namespace,
      vmNamespace: String(values["vm-namespace"]),
      leaderElection: booleanFlag("leader-elect", String(values["leader-elect"])),
      identity: typeof values.identity === "string" ? values.identity : `${hostname()}_${process.pid}`,
      workers: integerFlag("workers", String(values.workers), 1),
      opsHost: String(values["ops-bind-address"]),
      opsPort,
      orphanSweepIntervalMs: parseDurationMs("orphan-sweep-interval", String(values["orphan-sweep-interval"])),
      webhookCertificates: webhookCertificateSettings(values, namespace),
    };
    const logger = createCliLogger(String(values["log-format"]), String(values["log-level"])).child({ component: "controller" });
    const [{ KubeConfig }, { startController }] = await Promise.all([import("@kubernetes/client-node"), import("../controller/runtime.ts")]);
    const kubeConfig = new KubeConfig();
    if (typeof values.kubeconfig === "string") kubeConfig.loadFromFile(values.kubeconfig);
    else kubeConfig.loadFromDefault();
    const controller = await startController({ ...settings, kubeConfig, logger });
    await announceReadyUntilSignal(logger, JSON.stringify({ ready: true, opsPort: controller.opsPort }));
    await controller.stop();
    return 0;
  },
};
