import { UsageError, type Command } from "./command.ts";

export const statusCommand: Command = {
  name: "status",
  summary: "show each marooned pod's VM, node, phase, step times and last event",
  description:
    "Show the marooned pods (all namespaces, or one with --namespace; one pod with POD or NAMESPACE/POD): " +
    "the pod, its VM, its node, where it stands, the seconds from creation to VM created, node trusted and running, and its newest event.",
  positionals: { usage: "[POD | NAMESPACE/POD]", max: 1 },
  options: {
    kubeconfig: { type: "string", valueName: "PATH", description: "kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)" },
    namespace: { type: "string", valueName: "NAME", description: "only this namespace (default: all)" },
  },
  async run(values, positionals) {
    const [target] = positionals;
    let namespace = typeof values.namespace === "string" ? values.namespace : undefined;
    let podName: string | undefined;
    if (target?.includes("/")) [namespace, podName] = target.split("/", 2);
    else podName = target;
    if (podName !== undefined && namespace === undefined) throw new UsageError("status: name the pod as NAMESPACE/POD, or add --namespace");
    // Loaded on use, like dev: other commands need not pay for the client.
    const [{ KubeConfig, CoreV1Api, CustomObjectsApi }, { MANAGED_LABEL, MANAGED_LABEL_VALUE }, { MANAGED_BY, OWNED_LABELS }, { VMI_GROUP, VMI_PLURAL, VMI_VERSION }, { renderStatusTable, statusRows }] = await Promise.all([
      import("@kubernetes/client-node"),
      import("../api/names.ts"),
      import("../api/conditions.ts"),
      import("../kubevirt/api.ts"),
      import("./status-table.ts"),
    ]);
    const kubeConfig = new KubeConfig();
    if (typeof values.kubeconfig === "string") kubeConfig.loadFromFile(values.kubeconfig);
    else kubeConfig.loadFromDefault();
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const labelSelector = `${MANAGED_LABEL}=${MANAGED_LABEL_VALUE}`;
    const fieldSelector = podName === undefined ? undefined : `metadata.name=${podName}`;
    const pods = namespace === undefined
      ? await core.listPodForAllNamespaces({ labelSelector })
      : await core.listNamespacedPod({ namespace, labelSelector, fieldSelector });
    const events = namespace === undefined
      ? await core.listEventForAllNamespaces({ fieldSelector: "involvedObject.kind=Pod" })
      : await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=Pod${podName === undefined ? "" : `,involvedObject.name=${podName}`}` });
    // The controller's VMIs name their pod by UID: the VM column comes from them, never from the pod.
    const vmis = (await kubeConfig.makeApiClient(CustomObjectsApi).listClusterCustomObject({
      group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, labelSelector: `${OWNED_LABELS.component}=${MANAGED_BY}`,
    })) as { items?: { metadata?: { name?: string; labels?: Record<string, string> } }[] };
    process.stdout.write(renderStatusTable(statusRows(pods.items, events.items, vmis.items ?? [])));
    return 0;
  },
};
