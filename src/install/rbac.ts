import { CONTROLLER_LEASE_NAME, DEFAULT_CONTROLLER_SERVICE_ACCOUNT, DEFAULT_SYSTEM_NAMESPACE, DEFAULT_VM_NAMESPACE, DEFAULT_WEBHOOK_SERVICE_ACCOUNT, KUBE_SYSTEM_NAMESPACE, WEBHOOK_CA_SECRET, WEBHOOK_TLS_SECRET } from "../api/names.ts";
import { CONFIG_GROUP, CONFIG_PLURAL } from "../controller/config.ts";
import { VMI_GROUP, VMI_PLURAL } from "../kubevirt/api.ts";
import { MUTATING_WEBHOOK_CONFIGURATION_NAME } from "../../webhook/manifests.ts";

const RBAC = "rbac.authorization.k8s.io/v1";

export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly verbs: readonly string[];
}

const rule = (apiGroup: string, resources: string[], verbs: string[], resourceNames?: string[]): PolicyRule => ({
  apiGroups: [apiGroup],
  resources,
  ...(resourceNames ? { resourceNames } : {}),
  verbs,
});

const controllerSubject = { kind: "ServiceAccount", name: DEFAULT_CONTROLLER_SERVICE_ACCOUNT, namespace: DEFAULT_SYSTEM_NAMESPACE };

/** A Role (namespace given) or ClusterRole with its binding to the controller's ServiceAccount. */
function grant(name: string, namespace: string | undefined, rules: PolicyRule[]): Record<string, unknown>[] {
  const kind = namespace ? "Role" : "ClusterRole";
  const metadata = namespace ? { name, namespace } : { name };
  return [
    { apiVersion: RBAC, kind, metadata, rules },
    { apiVersion: RBAC, kind: `${kind}Binding`, metadata, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name }, subjects: [controllerSubject] },
  ];
}

export const CONTROLLER_ROLE_NAMES = {
  cluster: "maroonedpods-controller",
  tokens: "maroonedpods-controller-tokens",
  vms: "maroonedpods-controller-vms",
  system: "maroonedpods-controller",
  certificates: "maroonedpods-controller-webhook-certificates",
} as const;

/**
 * The controller's ServiceAccount and its RBAC. Cluster-wide only what must be:
 * pods in any namespace (to gate and release them), their Events, and nodes;
 * Secrets, VMIs, the Lease and the CA only in their own namespaces.
 */
export function controllerRbac(): Record<string, unknown>[] {
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: DEFAULT_CONTROLLER_SERVICE_ACCOUNT, namespace: DEFAULT_SYSTEM_NAMESPACE } },
    ...grant(CONTROLLER_ROLE_NAMES.cluster, undefined, [
      rule("", ["pods"], ["list", "watch", "patch"]),
      rule("", ["pods/status"], ["patch"]),
      rule("", ["events"], ["create"]),
      rule("", ["nodes"], ["list", "watch", "patch", "delete"]),
      rule(CONFIG_GROUP, [CONFIG_PLURAL], ["list", "watch"]),
      rule(CONFIG_GROUP, [`${CONFIG_PLURAL}/status`], ["patch"]),
    ]),
    // Bootstrap tokens live in kube-system.
    ...grant(CONTROLLER_ROLE_NAMES.tokens, KUBE_SYSTEM_NAMESPACE, [rule("", ["secrets"], ["create", "list", "watch", "delete"])]),
    // VMs and their cloud-init Secrets live in the VM namespace.
    ...grant(CONTROLLER_ROLE_NAMES.vms, DEFAULT_VM_NAMESPACE, [
      rule("", ["secrets"], ["create", "list", "watch", "delete"]),
      // patch: the warm pool's claim, one JSON patch of an unclaimed pool VMI's labels.
      rule(VMI_GROUP, [VMI_PLURAL], ["create", "list", "watch", "delete", "patch"]),
    ]),
    // The leader Lease, and the cluster CA whose hash goes into the join info.
    ...grant(CONTROLLER_ROLE_NAMES.system, DEFAULT_SYSTEM_NAMESPACE, [
      rule("coordination.k8s.io", ["leases"], ["create"]),
      rule("coordination.k8s.io", ["leases"], ["get", "update"], [CONTROLLER_LEASE_NAME]),
      rule("", ["configmaps"], ["get"], ["kube-root-ca.crt"]),
    ]),
  ];
}

/** Only for self-managed webhook certificates; the cert-manager overlay deletes these. */
export function controllerCertificateRbac(): Record<string, unknown>[] {
  return [
    ...grant(CONTROLLER_ROLE_NAMES.certificates, DEFAULT_SYSTEM_NAMESPACE, [
      // create cannot be limited by name; get and update can.
      rule("", ["secrets"], ["create"]),
      rule("", ["secrets"], ["get", "update"], [WEBHOOK_CA_SECRET, WEBHOOK_TLS_SECRET]),
    ]),
    ...grant(CONTROLLER_ROLE_NAMES.certificates, undefined, [
      rule("admissionregistration.k8s.io", ["mutatingwebhookconfigurations"], ["get", "patch"], [MUTATING_WEBHOOK_CONFIGURATION_NAME]),
    ]),
  ];
}

/** The webhook calls no API at all: a ServiceAccount without a token and without a single rule. */
export function webhookServiceAccount(): Record<string, unknown>[] {
  return [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: DEFAULT_WEBHOOK_SERVICE_ACCOUNT, namespace: DEFAULT_SYSTEM_NAMESPACE },
      automountServiceAccountToken: false,
    },
  ];
}
