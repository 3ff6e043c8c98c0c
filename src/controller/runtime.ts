import { randomBytes } from "node:crypto";
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Node, type V1Pod, type V1Secret } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import type { Logger } from "pino";
import { collectDefaultMetrics, Registry } from "prom-client";
import { MANAGED_BY, OWNED_LABELS, REASONS } from "../api/conditions.ts";
import { MANAGED_LABEL, MANAGED_LABEL_VALUE } from "../api/names.ts";
import { shareConnections } from "../kube/connections.ts";
import { isNotFound } from "../kube/errors.ts";
import { createEventRecorder } from "../kube/events.ts";
import { runLeaderElection } from "../kube/leader-election.ts";
import { startOpsServer } from "../util/ops-server.ts";
import { createListWatchCache, type CachedObject, type ListWatchCache } from "../kube/list-watch-cache.ts";
import { createWorkQueue, runWorkers, systemClock } from "../kube/workqueue.ts";
import { caCertHashFor } from "../joininfo/ca-hash.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../kubevirt/api.ts";
import { CONFIG_GROUP, CONFIG_NAME, CONFIG_PLURAL, CONFIG_VERSION, resolveConfig, type ControllerConfig, type MaroonedPodsConfigSpec } from "./config.ts";
import { findOrphans, isControllerNode, podKeyOf, podKeyOfOwned, podUidOfNode, podUidOfOwned, type OrphanCandidate } from "./mapping.ts";
import { DEFAULT_METRICS_PREFIX } from "../api/metric-names.ts";
import { podCensus } from "./census.ts";
import { createControllerMetrics } from "./metrics.ts";
import { preflightProblems } from "./preflight.ts";
import { createReconciler, type ControllerCaches } from "./reconciler.ts";
import { createWebhookCertificateSync, type WebhookCertificateSettings } from "./webhook-certificate-sync.ts";

export interface ControllerOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  /** Where the Lease lives and whose kube-root-ca.crt pins the cluster CA. */
  readonly namespace: string;
  readonly identity: string;
  readonly leaderElection: boolean;
  readonly workers: number;
  readonly opsHost: string;
  readonly opsPort: number;
  readonly orphanSweepIntervalMs: number;
  /** Set to manage the webhook's CA, serving Secret and caBundle; undefined leaves them to someone else. */
  readonly webhookCertificates?: WebhookCertificateSettings & { readonly checkIntervalMs: number };
}

export interface RunningController {
  readonly opsPort: number;
  stop(): Promise<void>;
}

const LEASE_NAME = "maroonedpods-controller";
/**
 * Workers beyond --workers that take only urgent keys (node events): with every worker busy launching,
 * a release would otherwise wait for one to finish (pipeline benchmark).
 */
export const URGENT_ONLY_WORKERS = 1;
const CONFIG_VALID_CONDITION = "Valid";

interface ConfigObject {
  metadata?: CachedObject["metadata"] & { generation?: number };
  spec?: MaroonedPodsConfigSpec;
  status?: { observedGeneration?: number; conditions?: { type: string; status: string; message?: string; lastTransitionTime?: string }[] };
}
const OWNED_SELECTOR = `${OWNED_LABELS.component}=${MANAGED_BY}`;

/** Drops what the controller never reads, so thousands of cached objects stay small. */
function slim<T extends CachedObject & { metadata?: { managedFields?: unknown } }>(object: T): T {
  if (object.metadata?.managedFields) delete object.metadata.managedFields;
  return object;
}

/** Every node is cached (a VM name must never be an existing node's), without its image list, the bulk of a node. */
function slimNode(node: V1Node): V1Node {
  if (node.status?.images) delete node.status.images;
  return slim(node);
}

export async function startController(options: ControllerOptions): Promise<RunningController> {
  const { logger } = options;
  // One keep-alive pool for every API client: client-node would open a TLS connection per request.
  const kubeConfig = shareConnections(options.kubeConfig);
  const stopping = new AbortController();
  const signal = stopping.signal;
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  const apiServerEndpoint = kubeConfig.getCurrentCluster()?.server ?? "";

  // Configuration: read from the `default` MaroonedPodsConfig whenever it changes; an invalid one keeps the last good.
  let config: ControllerConfig = mustResolve(undefined);
  function mustResolve(spec: MaroonedPodsConfigSpec | undefined): ControllerConfig {
    const result = resolveConfig(spec, { apiServerEndpoint });
    if (!result.ok) throw new Error(`invalid MaroonedPodsConfig: ${result.errors.join("; ")}`);
    return result.config;
  }
  const configCache = createListWatchCache<ConfigObject>({
    kubeConfig, logger, signal, path: `/apis/${CONFIG_GROUP}/${CONFIG_VERSION}/${CONFIG_PLURAL}`, fieldSelector: `metadata.name=${CONFIG_NAME}`,
  });
  const applyConfig = (object: ConfigObject | undefined) => {
    const result = resolveConfig(object?.spec, { apiServerEndpoint });
    if (result.ok) {
      config = result.config;
      logger.info({ vmNamespace: config.vmNamespace, joinMethod: config.joinMethod }, "configuration loaded");
    } else {
      logger.error({ errors: result.errors }, "MaroonedPodsConfig is invalid; keeping the previous configuration");
    }
    if (object) void reportConfigStatus(object, result.ok ? undefined : result.errors);
  };
  /** observedGeneration and a Valid condition, so `kubectl get mpc default -o yaml` says whether the config took. */
  const reportConfigStatus = async (object: ConfigObject, errors: string[] | undefined) => {
    const generation = object.metadata?.generation;
    const valid = errors === undefined ? "True" : "False";
    const current = object.status?.conditions?.find((c) => c.type === CONFIG_VALID_CONDITION);
    const message = errors === undefined ? "configuration in use for new VMs" : errors.join("; ");
    if (object.status?.observedGeneration === generation && current?.status === valid && current.message === message) return;
    const condition = {
      type: CONFIG_VALID_CONDITION,
      status: valid,
      reason: errors === undefined ? "Accepted" : REASONS.InvalidConfig,
      message,
      observedGeneration: generation,
      lastTransitionTime: current?.status === valid && current.lastTransitionTime ? current.lastTransitionTime : new Date().toISOString(),
    };
    try {
      await customObjects.patchClusterCustomObjectStatus(
        { group: CONFIG_GROUP, version: CONFIG_VERSION, plural: CONFIG_PLURAL, name: CONFIG_NAME, body: { status: { observedGeneration: generation, conditions: [condition] } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    } catch (error) {
      logger.warn({ err: error }, "could not report the configuration's status");
    }
  };

  const problems = await preflightProblems(kubeConfig, config.vmNamespace);
  if (problems.length > 0) throw new Error(`cannot start: ${problems.join("; ")}`);

  const cache = <T extends CachedObject>(path: string, selector: { labelSelector?: string }, transform: (object: T) => T = slim): ListWatchCache<T> =>
    createListWatchCache<T>({ kubeConfig, logger, signal, path, ...selector, transform });
  const vmNamespace = config.vmNamespace;
  const caches: ControllerCaches = {
    pods: cache<V1Pod>("/api/v1/pods", { labelSelector: `${MANAGED_LABEL}=${MANAGED_LABEL_VALUE}` }),
    vmis: cache<V1VirtualMachineInstance>(`/apis/${VMI_GROUP}/${VMI_VERSION}/namespaces/${vmNamespace}/${VMI_PLURAL}`, { labelSelector: OWNED_SELECTOR }),
    userDataSecrets: cache<V1Secret>(`/api/v1/namespaces/${vmNamespace}/secrets`, { labelSelector: OWNED_SELECTOR }),
    tokens: cache<V1Secret>("/api/v1/namespaces/kube-system/secrets", { labelSelector: OWNED_SELECTOR }),
    nodes: cache<V1Node>("/api/v1/nodes", {}, slimNode),
  };

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: DEFAULT_METRICS_PREFIX.controller });
  const metrics = createControllerMetrics(registry, () => {
    const counts: Record<string, number> = {};
    for (const vmi of caches.vmis.list()) counts[vmi.status?.phase ?? "Pending"] = (counts[vmi.status?.phase ?? "Pending"] ?? 0) + 1;
    return counts;
  }, () => podCensus(caches.pods.list(), Date.now()));
  const syncCertificates = options.webhookCertificates
    ? createWebhookCertificateSync(options.webhookCertificates, { kubeConfig, logger: logger.child({ component: "webhook-certificates" }), registry, now: () => Date.now() })
    : undefined;
  const queue = createWorkQueue({ clock: systemClock, onDepthChange: (depth) => { metrics.queueDepth(depth); } });

  let clusterCaPem: string | undefined;
  const reconcile = createReconciler({
    kubeConfig,
    caches,
    config: () => config,
    caCertHash: async () => {
      clusterCaPem ??= (await core.readNamespacedConfigMap({ namespace: options.namespace, name: "kube-root-ca.crt" })).data?.["ca.crt"] ?? "";
      return caCertHashFor(config.joinMethod, clusterCaPem);
    },
    clock: { now: () => Date.now() },
    randomBytes: (n) => randomBytes(n),
    events: createEventRecorder(kubeConfig, "maroonedpods-controller", logger),
    metrics,
    logger,
  });

  // Event -> pod key. Nodes only know their pod's UID; the pod cache resolves it.
  const keyByUid = new Map<string, string>();
  const enqueuedAt = new Map<string, number>();
  const enqueue = (key: string | undefined, urgent = false) => {
    if (!key) return;
    if (!enqueuedAt.has(key)) enqueuedAt.set(key, performance.now());
    queue.add(key, urgent);
  };
  const onOwned = { onAdd: (o: CachedObject) => { enqueue(podKeyOfOwned(o)); }, onUpdate: (o: CachedObject) => { enqueue(podKeyOfOwned(o)); }, onDelete: (o: CachedObject) => { enqueue(podKeyOfOwned(o)); } };
  // A node event (registered, Ready, trusted) finishes a pod already under way: it goes ahead of
  // new launches, or under a burst of pods the release waits behind all of them (pipeline benchmark).
  const onNode = (node: V1Node) => {
    const uid = podUidOfNode(node);
    enqueue(uid === undefined ? undefined : keyByUid.get(uid), true);
  };
  const onPod = (pod: V1Pod) => {
    const key = podKeyOf(pod);
    if (key && pod.metadata?.uid) keyByUid.set(pod.metadata.uid, key);
    enqueue(key);
  };

  const sweepOrphans = async () => {
    const live = new Set(caches.pods.list().map((p) => p.metadata?.uid ?? ""));
    const candidates: OrphanCandidate[] = [
      ...caches.vmis.list().map((o) => ({ kind: "VirtualMachineInstance" as const, namespace: o.metadata?.namespace, name: o.metadata?.name ?? "", podUid: podUidOfOwned(o) })),
      ...caches.userDataSecrets.list().map((o) => ({ kind: "Secret" as const, namespace: o.metadata?.namespace, name: o.metadata?.name ?? "", podUid: podUidOfOwned(o) })),
      ...caches.tokens.list().map((o) => ({ kind: "BootstrapToken" as const, namespace: o.metadata?.namespace, name: o.metadata?.name ?? "", podUid: podUidOfOwned(o) })),
      // A node is the controller's to remove only under the name it gave the pod's VM, never for a label alone.
      ...caches.nodes.list().filter((o) => isControllerNode(o, config)).map((o) => ({ kind: "Node" as const, namespace: undefined, name: o.metadata?.name ?? "", podUid: podUidOfNode(o) })),
    ];
    for (const orphan of findOrphans(candidates, live)) {
      try {
        if (orphan.kind === "VirtualMachineInstance") await customObjects.deleteNamespacedCustomObject({ group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: orphan.namespace ?? "", name: orphan.name });
        else if (orphan.kind === "Node") await core.deleteNode({ name: orphan.name });
        else await core.deleteNamespacedSecret({ namespace: orphan.namespace ?? "", name: orphan.name });
        metrics.orphanRemoved(orphan.kind);
        logger.info({ kind: orphan.kind, name: orphan.name, podUid: orphan.podUid }, "orphan removed");
      } catch (error) {
        if (!isNotFound(error)) logger.warn({ err: error, kind: orphan.kind, name: orphan.name }, "could not remove orphan");
      }
    }
  };

  await Promise.all([
    configCache.start({ onAdd: applyConfig, onUpdate: (c) => { applyConfig(c); }, onDelete: () => { applyConfig(undefined); } }),
    caches.pods.start({ onAdd: onPod, onUpdate: onPod, onDelete: (pod) => { if (pod.metadata?.uid) keyByUid.delete(pod.metadata.uid); } }),
    caches.vmis.start(onOwned),
    caches.userDataSecrets.start(onOwned),
    caches.tokens.start(onOwned),
    caches.nodes.start({ onAdd: onNode, onUpdate: onNode, onDelete: onNode }),
  ]);
  logger.info("caches synced");

  /** The leader's work: workers and the orphan sweep, until leadership ends. */
  const lead = (leadership: AbortSignal): Promise<void> => {
    metrics.leader(true);
    for (const pod of caches.pods.list()) onPod(pod);
    void sweepOrphans();
    const sweep = setInterval(() => void sweepOrphans(), options.orphanSweepIntervalMs);
    // The leader alone manages the webhook certificates: one writer, no keys generated in vain. Every write is
    // conditional (resourceVersion), so an old and a new leader overlapping during a handover cannot clobber each other.
    let certificatePassRunning = false;
    const certificatePass = () => {
      if (!syncCertificates || certificatePassRunning) return;
      certificatePassRunning = true;
      void syncCertificates().finally(() => { certificatePassRunning = false; });
    };
    certificatePass();
    const certificates = options.webhookCertificates ? setInterval(certificatePass, options.webhookCertificates.checkIntervalMs) : undefined;
    const workers = runWorkers(queue, options.workers, async (key) => {
      const started = performance.now();
      const since = enqueuedAt.get(key);
      if (since !== undefined) {
        enqueuedAt.delete(key);
        metrics.queueWait((started - since) / 1000);
      }
      try {
        const result = await reconcile(key);
        metrics.reconciled((performance.now() - started) / 1000, false);
        return result;
      } catch (error) {
        metrics.reconciled((performance.now() - started) / 1000, true);
        throw error;
      }
    }, (key, error) => { logger.warn({ pod: key, err: error, failures: queue.failures(key) }, "reconcile failed; retrying with backoff"); }, URGENT_ONLY_WORKERS);
    leadership.addEventListener("abort", () => {
      clearInterval(sweep);
      clearInterval(certificates);
      queue.shutDown();
      metrics.leader(false);
    }, { once: true });
    return workers;
  };

  let working: Promise<void> = Promise.resolve();
  const election = options.leaderElection
    ? runLeaderElection(
        { kubeConfig, namespace: options.namespace, name: LEASE_NAME, identity: options.identity, logger, signal },
        {
          onStartedLeading: (leadership) => {
            logger.info({ identity: options.identity }, "became leader");
            working = lead(leadership);
          },
          onStoppedLeading: () => {
            // Never keep acting on a lease we lost: exit and let the Deployment restart us as a follower.
            logger.error("lost leadership; exiting");
            process.exit(1);
          },
        },
      )
    : (() => {
        working = lead(signal);
        return Promise.resolve();
      })();

  const ops = await startOpsServer({
    host: options.opsHost,
    port: options.opsPort,
    registry,
    notReady: () => (caches.pods.synced ? undefined : "caches not synced"),
    logger,
  });
  logger.info({ opsPort: ops.port }, "controller running");
  return {
    opsPort: ops.port,
    async stop() {
      stopping.abort();
      queue.shutDown();
      await election;
      await working;
      await ops.close();
    },
  };
}
