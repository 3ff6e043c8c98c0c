import type { Command } from "./command.ts";

export const doctorCommand: Command = {
  name: "doctor",
  summary: "check that a cluster can run MaroonedPods, with a fix for each failure",
  description:
    "Check the cluster the kubeconfig names: Kubernetes >= 1.30, KubeVirt and its VMI CRD, the cluster kind against joinMethod, " +
    "bootstrap-token authentication (with a throwaway token), the CSR auto-approval RBAC, the webhook (with a dry-run pod), and the " +
    "MaroonedPodsConfig. Prints a table; exits 1 when a check fails.",
  options: {
    kubeconfig: { type: "string", valueName: "PATH", description: "kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)" },
  },
  async run(values) {
    const [{ KubeConfig }, { renderChecks, runDoctorChecks }] = await Promise.all([import("@kubernetes/client-node"), import("./doctor-checks.ts")]);
    const kubeConfig = new KubeConfig();
    if (typeof values.kubeconfig === "string") kubeConfig.loadFromFile(values.kubeconfig);
    else kubeConfig.loadFromDefault();
    const results = await runDoctorChecks(kubeConfig);
    process.stdout.write(renderChecks(results));
    return results.every((r) => r.ok) ? 0 : 1;
  },
};
