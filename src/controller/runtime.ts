import { randomBytes } from "node:crypto";
import { CoreV1Api, type KubeConfig, type V1Node, type V1Pod, type V1Secret } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import type { Logger } from "pino";
import { collectDefaultMetrics, Registry } from "prom-client";
import { MANAGED_BY, OWNED_LABELS } from "../api/conditions.ts";
import { DEFAULT_METRICS_PREFIX } from "../api/metric-names.ts";
import { CONTROLLER_LEASE_NAME, KUBE_SYSTEM_NAMESPACE, MANAGED_LABEL, MANAGED_LABEL_VALUE } from "../api/names.ts";
import { caCertHashFor } from "../joininfo/ca-hash.ts";
import { shareConnections } from "../kube/connections.ts";
import { createEventRecorder } from "../kube/events.ts";
import { runLeaderElection } from "../kube/leader-election.ts";
import { createListWatchCache, type CacheHandlers, type CachedObject, type ListWatchCache } from "../kube/list-watch-cache.ts";
import { createWorkQueue, runWorkers, systemClock } from "../kube/workqueue.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../kubevirt/api.ts";
import { startOpsServer } from "../util/ops-server.ts";
import { slim, slimNode, slimUserDataSecret } from "./cache-shapes.ts";
import { createApiWriter } from "./cluster-writer.ts";
import { startConfigController } from "./config-controller.ts";
import { eventKeyHandlers } from "./event-keys.ts";
import { podCensus } from "./census.ts";
import { createFailureReporter } from "./failure-reports.ts";
import { createControllerMetrics } from "./metrics.ts";
import { sweepOrphans } from "./orphans.ts";
import { concernsPool, createPoolReconciler, POOL_QUEUE_KEY, poolNodeChanged, poolWakeDelayMs } from "./pool-driver.ts";
import { preflightProblems } from "./preflight.ts";
import { createReconciler } from "./reconciler.ts";
import type { WebhookCertificateSettings } from "./webhook-certificate-sync.ts";

export interface ControllerOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  /** Where the Lease lives and whose kube-root-ca.crt pins the cluster CA. */
  readonly namespace: string;
  /** Where VMIs and their user-data Secrets live: watched and written, from start to stop. */
  readonly vmNamespace: string;
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

/**
 * Workers beyond --workers that take only urgent keys (node events): with every worker busy launching,
 * a release would otherwise wait for one to finish (pipeline benchmark).
 */
export const URGENT_ONLY_WORKERS = 1;
const OWNED_SELECTOR = `${OWNED_LABELS.component}=${MANAGED_BY}`;

/** Wires the caches, the reconciler, the work queue, leader election and the ops server; decides nothing itself. */
export async function startController(options: ControllerOptions): Promise<RunningController> {
  const { logger, vmNamespace } = options;
  // One keep-alive pool for every API client: client-node would open a TLS connection per request.
  const kubeConfig = shareConnections(options.kubeConfig);
  const stopping = new AbortController();
  const signal = stopping.signal;

  const problems = await preflightProblems(kubeConfig, vmNamespace);
  if (problems.length > 0) throw new Error(`cannot start: ${problems.join("; ")}`);
  // A config change may resize the warm pool: its key is queued once the queue exists.
  let onConfigChange = (): void => {};
  const config = await startConfigController({
    kubeConfig, logger, signal, defaults: { apiServerEndpoint: kubeConfig.getCurrentCluster()?.server ?? "", vmNamespace }, onChange: () => { onConfigChange(); },
  });

  const cache = <T extends CachedObject>(path: string, labelSelector: string | undefined, transform: (object: T) => T = slim): ListWatchCache<T> =>
    createListWatchCache<T>({ kubeConfig, logger, signal, path, ...(labelSelector ? { labelSelector } : {}), transform });
  const caches = {
    pods: cache<V1Pod>("/api/v1/pods", `${MANAGED_LABEL}=${MANAGED_LABEL_VALUE}`),
    vmis: cache<V1VirtualMachineInstance>(`/apis/${VMI_GROUP}/${VMI_VERSION}/namespaces/${vmNamespace}/${VMI_PLURAL}`, OWNED_SELECTOR),
    userDataSecrets: cache<V1Secret>(`/api/v1/namespaces/${vmNamespace}/secrets`, OWNED_SELECTOR, slimUserDataSecret),
    tokens: cache<V1Secret>(`/api/v1/namespaces/${KUBE_SYSTEM_NAMESPACE}/secrets`, OWNED_SELECTOR),
    nodes: cache<V1Node>("/api/v1/nodes", undefined, slimNode),
  };

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: DEFAULT_METRICS_PREFIX.controller });
  const metrics = createControllerMetrics(registry, () => {
    const counts: Record<string, number> = {};
    for (const vmi of caches.vmis.list()) counts[vmi.status?.phase ?? "Pending"] = (counts[vmi.status?.phase ?? "Pending"] ?? 0) + 1;
    return counts;
  }, () => podCensus(caches.pods.list(), Date.now()));
  // Imported only when used: its X.509 library is a few MiB of the controller's memory.
  const syncCertificates = options.webhookCertificates
    ? (await import("./webhook-certificate-sync.ts")).createWebhookCertificateSync(options.webhookCertificates, { kubeConfig, logger: logger.child({ component: "webhook-certificates" }), registry, now: () => Date.now() })
    : undefined;
  const queue = createWorkQueue({ clock: systemClock, onDepthChange: (depth) => { metrics.queueDepth(depth); } });
  const events = createEventRecorder(kubeConfig, "maroonedpods-controller", logger);
  const writer = createApiWriter(kubeConfig);

  const core = kubeConfig.makeApiClient(CoreV1Api);
  let clusterCaPem: string | undefined;
  const caCertHash = async () => {
    clusterCaPem ??= (await core.readNamespacedConfigMap({ namespace: options.namespace, name: "kube-root-ca.crt" })).data?.["ca.crt"] ?? "";
    return caCertHashFor(config().joinMethod, clusterCaPem);
  };
  const reconcilePod = createReconciler({
    caches,
    writer,
    config,
    caCertHash,
    clock: { now: () => Date.now() },
    randomBytes: (n) => randomBytes(n),
    events,
    metrics,
    logger,
  });
  const reconcilePool = createPoolReconciler({ caches, writer, config, caCertHash, clock: { now: () => Date.now() }, randomBytes: (n) => randomBytes(n), metrics, logger });
  // The pool has its own key in the same queue: pod keys are namespace/name.
  let poolStartedAt: number | undefined;
  const reconcile = (key: string) => {
    if (key !== POOL_QUEUE_KEY) return reconcilePod(key);
    poolStartedAt = performance.now();
    return reconcilePool();
  };
  const failures = createFailureReporter({ events, pod: (key) => caches.pods.get(...(key.split("/", 2) as [string, string])), now: () => Date.now() });

  const enqueuedAt = new Map<string, number>();
  const enqueue = (key: string, urgent: boolean) => {
    if (!enqueuedAt.has(key)) enqueuedAt.set(key, performance.now());
    queue.add(key, urgent);
  };
  const handlers = eventKeyHandlers({ add: enqueue });
  const enqueuePool = () => {
    const delayMs = poolWakeDelayMs(poolStartedAt, performance.now());
    if (delayMs === 0) enqueue(POOL_QUEUE_KEY, false);
    else queue.addAfter(POOL_QUEUE_KEY, delayMs);
  };
  onConfigChange = enqueuePool;
  /** The pool's objects also wake the pool's reconcile: a claim, a failed or deleted pool VM, a pool node joining. */
  type Labeled = CachedObject & { metadata?: { labels?: Record<string, string> } };
  const alsoPool = <T extends Labeled>(h: CacheHandlers<T>, changed: (o: T, old: T) => boolean = () => true): CacheHandlers<T> => {
    const poke = (o: T) => {
      if (concernsPool(o)) enqueuePool();
    };
    return {
      onAdd: (o) => { h.onAdd?.(o); poke(o); },
      onUpdate: (o, old) => {
        h.onUpdate?.(o, old);
        if (changed(o, old)) poke(o);
      },
      onDelete: (o) => { h.onDelete?.(o); poke(o); },
    };
  };
  await Promise.all([
    caches.pods.start(handlers.pods),
    caches.vmis.start(alsoPool(handlers.owned)),
    caches.userDataSecrets.start(alsoPool(handlers.owned)),
    caches.tokens.start(alsoPool(handlers.owned)),
    // A node's heartbeats do not concern the pool: only what decides whether a pool node is available.
    caches.nodes.start(alsoPool(handlers.nodes, poolNodeChanged)),
  ]);
  logger.info("caches synced");

  const reconcileMeasured = async (key: string) => {
    const started = performance.now();
    const since = enqueuedAt.get(key);
    if (since !== undefined) {
      enqueuedAt.delete(key);
      metrics.queueWait((started - since) / 1000);
    }
    try {
      const result = await reconcile(key);
      metrics.reconciled((performance.now() - started) / 1000, false);
      if (key !== POOL_QUEUE_KEY) failures.succeeded(key);
      return result;
    } catch (error) {
      metrics.reconciled((performance.now() - started) / 1000, true);
      throw error;
    }
  };
  const onReconcileError = (key: string, error: unknown) => {
    const count = queue.failures(key);
    logger.warn({ pod: key, err: error, failures: count }, "reconcile failed; retrying with backoff");
    if (key !== POOL_QUEUE_KEY) failures.failed(key, count, error);
  };

  /** The leader's work: workers and the orphan sweep, until leadership ends. */
  const lead = (leadership: AbortSignal): Promise<void> => {
    metrics.leader(true);
    for (const pod of caches.pods.list()) handlers.pods.onAdd?.(pod);
    enqueuePool();
    const sweep = () => sweepOrphans({ caches, writer, config, metrics, logger });
    void sweep();
    const sweeping = setInterval(() => void sweep(), options.orphanSweepIntervalMs);
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
    const workers = runWorkers(queue, options.workers, reconcileMeasured, onReconcileError, URGENT_ONLY_WORKERS);
    leadership.addEventListener("abort", () => {
      clearInterval(sweeping);
      clearInterval(certificates);
      queue.shutDown();
      metrics.leader(false);
    }, { once: true });
    return workers;
  };

  let working: Promise<void> = Promise.resolve();
  const election = options.leaderElection
    ? runLeaderElection(
        { kubeConfig, namespace: options.namespace, name: CONTROLLER_LEASE_NAME, identity: options.identity, logger, signal },
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
