/**
 * The names every part of MaroonedPods agrees on (see the shared design notes).
 * Defaults of configurable names are marked DEFAULT_.
 */

/** The label a user sets to select a pod. */
export const MAROON_LABEL = "maroonedpods.io/maroon";
export const MAROON_LABEL_VALUE = "true";
export const DEFAULT_RUNTIME_CLASS = "marooned";

/** Added by the webhook at CREATE. */
export const SCHEDULING_GATE = "maroonedpods.io/vm-node";
export const CLEANUP_FINALIZER = "maroonedpods.io/vm-cleanup";
export const MANAGED_LABEL = "maroonedpods.io/managed";
export const MANAGED_LABEL_VALUE = "true";

/** Set by the guest's kubelet at registration (untrusted until verified). */
export const NODE_POD_UID_LABEL = "maroonedpods.io/pod-uid";
export const NODE_VM_LABEL = "maroonedpods.io/vm";
/** Set by the controller after verification; a kubelet can neither set nor change it. */
export const TRUSTED_NODE_LABEL = "node-restriction.kubernetes.io/maroonedpods-pod-uid";

export const DEFAULT_TAINT_KEY_PREFIX = "maroonedpods.io";
/** The registration taint's key: `<taint key prefix>/dedicated`, value the pod UID, effect NoSchedule. */
export const dedicatedTaintKey = (taintKeyPrefix: string): string => `${taintKeyPrefix}/dedicated`;

/**
 * Put on every new node by the API server's TaintNodesByCondition admission and taken off by the node
 * lifecycle controller once the node reports Ready.
 */
export const NODE_NOT_READY_TAINT_KEY = "node.kubernetes.io/not-ready";

export const DEFAULT_NODE_NAME_PREFIX = "marooned-";
export const DEFAULT_SYSTEM_NAMESPACE = "maroonedpods-system";
export const DEFAULT_VM_NAMESPACE = "maroonedpods-vms";
export const DEFAULT_CONTROLLER_SERVICE_ACCOUNT = "maroonedpods-controller";
export const WEBHOOK_SERVICE_NAME = "maroonedpods-webhook";
/** Where bootstrap tokens live, and the CA ConfigMap kube-controller-manager publishes into every namespace. */
export const KUBE_SYSTEM_NAMESPACE = "kube-system";
/** The group kubeadm puts its default node bootstrap tokens in; the controller's tokens use it by default. */
export const KUBEADM_NODE_BOOTSTRAP_GROUP = "system:bootstrappers:kubeadm:default-node-token";
export const DEFAULT_WEBHOOK_SERVICE_ACCOUNT = "maroonedpods-webhook";
/** Self-managed webhook certificates: the CA (read by the controller only) and the serving pair the webhook mounts. */
export const WEBHOOK_CA_SECRET = "maroonedpods-webhook-ca";
export const WEBHOOK_TLS_SECRET = "maroonedpods-webhook-tls";
/**
 * Set by the controller on every trusted node, value "true": the `marooned`
 * RuntimeClass schedules onto it. Under node-restriction.kubernetes.io/, so no kubelet can claim it.
 */
export const MAROONED_NODE_LABEL = "node-restriction.kubernetes.io/maroonedpods-node";
export const MAROONED_NODE_LABEL_VALUE = "true";
/** The labels that make a verified node its pod's: the release's nodeSelector and the RuntimeClass's both need them. */
export const trustedNodeLabels = (podUid: string): Record<string, string> => ({ [TRUSTED_NODE_LABEL]: podUid, [MAROONED_NODE_LABEL]: MAROONED_NODE_LABEL_VALUE });
/** The Lease the controller replicas elect a leader with, in the system namespace. */
export const CONTROLLER_LEASE_NAME = "maroonedpods-controller";
/** A namespace with this label (value "true") may scrape the metrics ports; the NetworkPolicies admit nobody else. */
export const METRICS_SCRAPER_NAMESPACE_LABEL = "maroonedpods.io/scrape-metrics";

/**
 * Warm pool. A pool VM's name says what it is: `<nodeNamePrefix>pool-<random>`, which the node-name policy's prefix
 * covers. Its join info carries no pod identity: the node registers with `maroonedpods.io/pool=true` and the taint
 * `<taint key prefix>/pool=unclaimed:NoSchedule`, which no tenant pod may tolerate.
 */
export const POOL_NAME_INFIX = "pool-";
export const poolVmNamePrefix = (nodeNamePrefix: string): string => `${nodeNamePrefix}${POOL_NAME_INFIX}`;
/** On the pool VMI, its Secrets and token (set by the controller in its own namespaces), and on the pool node (set by its kubelet). */
export const POOL_LABEL = "maroonedpods.io/pool";
export const POOL_LABEL_VALUE = "true";
/**
 * On the pool VMI only: `unclaimed` until one pod's claim (one JSON patch whose `test` pins `unclaimed`) makes it
 * `claimed`, or the pool's reconcile retires it (the same kind of patch) before deleting it: claim and retirement
 * exclude each other.
 */
export const POOL_STATE_LABEL = "maroonedpods.io/pool-state";
export const POOL_STATES = { unclaimed: "unclaimed", claimed: "claimed", retired: "retired" } as const;
export const poolTaintKey = (taintKeyPrefix: string): string => `${taintKeyPrefix}/pool`;
export const POOL_TAINT_VALUE = "unclaimed";
