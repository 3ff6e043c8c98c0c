import type { V1Node } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { POOL_LABEL, POOL_LABEL_VALUE } from "../api/names.ts";
import type { ReconcileResult } from "../kube/workqueue.ts";
import type { ClusterWriter } from "./cluster-writer.ts";
import type { ControllerConfig } from "./config.ts";
import type { ControllerMetrics } from "./metrics.ts";
import { decidePool, isPoolVmi, type PoolAction, type PoolCounts } from "./pool.ts";
import type { ControllerCaches } from "./reconciler.ts";

/** The pool's own work-queue key: pod keys are `namespace/name`, so no pod key is ever this. */
export const POOL_QUEUE_KEY = "warm-pool";

/**
 * The pool's reconcile lists every pool VMI past the cache, and every claim wakes it several times over (the VMI,
 * its node, its Secret): under a stream of claims it starts at most this often, so refilling stays off the claims' way.
 */
export const POOL_RECONCILE_MIN_INTERVAL_MS = 1_000;

/** How long a wake-up of the pool waits, so that its reconciles start at least the interval apart. */
export const poolWakeDelayMs = (lastStartedAt: number | undefined, now: number): number =>
  lastStartedAt === undefined ? 0 : Math.max(0, lastStartedAt + POOL_RECONCILE_MIN_INTERVAL_MS - now);

export interface PoolDriverDeps {
  readonly caches: Omit<ControllerCaches, "pods">;
  readonly writer: ClusterWriter;
  readonly config: () => ControllerConfig;
  readonly caCertHash: () => Promise<string>;
  readonly clock: { now(): number };
  readonly randomBytes: (n: number) => Uint8Array;
  readonly metrics: ControllerMetrics;
  readonly logger: Logger;
}

const isPoolObject = (o: { metadata?: { labels?: Record<string, string> } }): boolean => o.metadata?.labels?.[POOL_LABEL] === POOL_LABEL_VALUE;

/**
 * The pool's reconcile, run on the pool's key (a pool VMI, node, Secret or token changed, the config changed, the
 * leader started): list the pool's VMIs past the cache, decide, write. The count is recomputed from what exists each
 * time, so a restarted or new leader neither forgets nor doubles a slot. With the pool off and nothing of it left,
 * it reads and writes nothing.
 */
export function createPoolReconciler(deps: PoolDriverDeps): () => Promise<ReconcileResult> {
  const failures = { count: 0, lastAt: 0 };
  let reported = "";

  async function perform(action: PoolAction, config: ControllerConfig, log: Logger): Promise<void> {
    const { writer } = deps;
    switch (action.kind) {
      case "createSecret":
        await writer.createSecret(action.secret);
        return;
      case "createVmi":
        if (await writer.createVmi(config.vmNamespace, action.vmi)) log.info({ vm: action.vmi.metadata?.name }, "warm pool VM created");
        return;
      case "deletePoolVmi":
        if (await writer.deletePoolVmi(config.vmNamespace, action.name)) log.info({ vm: action.name, why: action.why }, "warm pool VM deleted");
        return;
      case "deleteSecret":
        await writer.deleteSecret(action.namespace, action.name);
        return;
      case "deleteNode":
        if (await writer.deleteNode(action.name)) log.info({ node: action.name }, "warm pool node deleted");
        return;
    }
  }

  async function report(counts: PoolCounts): Promise<void> {
    deps.metrics.warmPool(counts);
    const text = JSON.stringify(counts);
    if (text === reported) return;
    try {
      await deps.writer.reportWarmPool({ ...counts });
      reported = text;
    } catch (error) {
      deps.logger.warn({ err: error }, "could not report the warm pool in the config's status");
    }
  }

  return async () => {
    const config = deps.config();
    const { caches } = deps;
    const poolSecrets = caches.userDataSecrets.list().filter(isPoolObject);
    const poolTokens = caches.tokens.list().filter(isPoolObject);
    const poolNodes = caches.nodes.list().filter(isPoolObject);
    if (config.warmPool.size === 0 && !caches.vmis.list().some(isPoolVmi) && poolSecrets.length === 0 && poolTokens.length === 0 && poolNodes.length === 0) {
      if (reported !== "") await report({ desired: 0, booting: 0, available: 0, claimed: 0 });
      return {};
    }
    const vmis = await deps.writer.listPoolVmis(config.vmNamespace);
    const now = deps.clock.now();
    const decision = decidePool(
      {
        config,
        vmis,
        node: (name) => caches.nodes.get(undefined, name),
        poolNodes,
        tokens: poolTokens,
        userDataSecrets: poolSecrets,
        caCertHash: await deps.caCertHash(),
        now,
        failures,
      },
      deps.randomBytes,
    );
    if (decision.newFailures > 0) {
      failures.count += decision.newFailures;
      failures.lastAt = now;
    } else if (decision.counts.available > 0) {
      failures.count = 0;
    }
    const log = deps.logger.child({ component: "warm-pool" });
    for (const action of decision.actions) await perform(action, config, log);
    await report(decision.counts);
    return decision.requeueAfterMs === undefined ? {} : { requeueAfterMs: decision.requeueAfterMs };
  };
}

/** Whether a cache event concerns the pool: its VMIs, Secrets and tokens (pool label), its nodes (the same label). */
export const concernsPool = isPoolObject;

const nodeFacts = (node: V1Node): string =>
  JSON.stringify([node.metadata?.labels, node.spec?.taints, node.status?.addresses, node.status?.conditions?.find((c) => c.type === "Ready")?.status]);

/** Whether a node update changed what decides a pool node's state (labels, taints, addresses, Ready), not a heartbeat. */
export const poolNodeChanged = (node: V1Node, old: V1Node): boolean => nodeFacts(node) !== nodeFacts(old);
