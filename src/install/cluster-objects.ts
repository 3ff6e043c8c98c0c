import { DEFAULT_SYSTEM_NAMESPACE, DEFAULT_VM_NAMESPACE, MAROONED_NODE_LABEL, MAROONED_NODE_LABEL_VALUE } from "../api/names.ts";
import { SPEC_DEFAULTS } from "../controller/config.ts";

const PART_OF = { "app.kubernetes.io/part-of": "maroonedpods" };

/** The system namespace runs only restricted pods; the VM namespace's virt-launcher pods are KubeVirt's to shape. */
export function namespaces(): Record<string, unknown>[] {
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: DEFAULT_SYSTEM_NAMESPACE, labels: { ...PART_OF, "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest" } },
    },
    { apiVersion: "v1", kind: "Namespace", metadata: { name: DEFAULT_VM_NAMESPACE, labels: PART_OF } },
  ];
}

/**
 * `runtimeClassName: marooned` selects a pod like the label does. Its node
 * selector keeps the pod off every node but a trusted marooned one even before
 * the controller pins it to its own, and its overhead is the VM's, so quotas
 * and the scheduler see what the VM costs beyond the pod's requests.
 */
export function runtimeClass(name: string): Record<string, unknown> {
  return {
    apiVersion: "node.k8s.io/v1",
    kind: "RuntimeClass",
    metadata: { name },
    handler: "runc",
    scheduling: { nodeSelector: { [MAROONED_NODE_LABEL]: MAROONED_NODE_LABEL_VALUE } },
    overhead: { podFixed: { ...SPEC_DEFAULTS.resourceOverhead } },
  };
}
