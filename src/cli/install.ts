import { parseDurationMs, type Command } from "./command.ts";

const KUBECONFIG_OPTION = { type: "string", valueName: "PATH", description: "kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)" } as const;

async function loadKubeConfig(path: string | boolean | undefined) {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kubeConfig = new KubeConfig();
  if (typeof path === "string") kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

export const installCommand: Command = {
  name: "install",
  summary: "install or upgrade MaroonedPods in a cluster (server-side apply; idempotent)",
  description:
    "Apply everything deploy/ holds (namespaces, CRD, RBAC, controller and webhook Deployments, Services, PDB, NetworkPolicies, " +
    "RuntimeClass, admission policies and webhook) with server-side apply under the field manager maroonedpods-install. " +
    "Each object is reported as created, configured (with the fields that changed) or unchanged; running it again changes nothing.",
  options: {
    kubeconfig: KUBECONFIG_OPTION,
    "dry-run": { type: "boolean", description: "show what would change; the API server validates everything and stores nothing" },
    "cert-manager": { type: "boolean", description: "let cert-manager issue the webhook certificate (deploy/overlays/cert-manager) instead of the controller" },
    image: { type: "string", valueName: "REF", description: "controller and webhook image, e.g. one built by `make image` (default: the release image)" },
  },
  async run(values) {
    const { install } = await import("../install/install.ts");
    const dryRun = values["dry-run"] === true;
    const suffix = dryRun ? " (dry run)" : "";
    const counts = { created: 0, configured: 0, unchanged: 0 };
    await install(await loadKubeConfig(values.kubeconfig), { certificates: values["cert-manager"] === true ? "cert-manager" : "self-managed", dryRun, image: typeof values.image === "string" ? values.image : undefined }, (applied) => {
      counts[applied.change]++;
      const detail = applied.paths.length > 0 ? `: ${applied.paths.join(", ")}` : "";
      process.stdout.write(`${applied.ref} ${applied.change}${suffix}${detail}\n`);
    });
    process.stdout.write(`${String(counts.created)} created, ${String(counts.configured)} configured, ${String(counts.unchanged)} unchanged${suffix}\n`);
    return 0;
  },
};

export const uninstallCommand: Command = {
  name: "uninstall",
  summary: "remove everything install created",
  description:
    "Delete everything install applied, admission first and the namespaces and CRD last, and wait until it is gone. " +
    "While marooned pods or VMs exist it refuses and lists them; with --force it first deletes the marooned pods and " +
    "waits for the controller to tear down their VMs and nodes.",
  options: {
    kubeconfig: KUBECONFIG_OPTION,
    force: { type: "boolean", description: "tear down marooned pods and their VMs first instead of refusing" },
    timeout: { type: "string", default: "5m", valueName: "DURATION", description: "how long to wait for teardown and for deleted objects to disappear" },
  },
  async run(values) {
    const timeoutMs = parseDurationMs("timeout", String(values.timeout));
    const { uninstall } = await import("../install/uninstall.ts");
    const deleted = await uninstall(await loadKubeConfig(values.kubeconfig), { force: values.force === true, timeoutMs }, (ref) => {
      process.stdout.write(`${ref} deleted\n`);
    });
    process.stdout.write(`${String(deleted.length)} objects removed\n`);
    return 0;
  },
};
