import type { V1Node, V1Pod, V1Secret } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import type { Logger } from "pino";
import { OWNED_LABELS, POD_CONDITIONS } from "../api/conditions.ts";
import { KUBE_SYSTEM_NAMESPACE, POOL_LABEL, POOL_LABEL_VALUE, trustedNodeLabels } from "../api/names.ts";
import { apiMessageOf } from "../kube/errors.ts";
import type { EventRecorder } from "../kube/events.ts";
import type { ListWatchCache } from "../kube/list-watch-cache.ts";
import type { ReconcileResult } from "../kube/workqueue.ts";
import { userDataSecretNameFor, vmNameFor } from "./artifacts.ts";
import type { ClusterWriter } from "./cluster-writer.ts";
import type { ControllerConfig } from "./config.ts";
import { decide } from "./lifecycle.ts";
import type { ControllerMetrics } from "./metrics.ts";
import { conditionOf, conditionSince, isGated, type Action, type Observed, type PoolCandidate, type Report } from "./observed.ts";
import { isClaimedPoolVmi, isPoolVmi, poolVmState } from "./pool.ts";

/** What a reconcile reads of a cache. */
export type CacheReader<T> = Pick<ListWatchCache<T>, "get" | "list">;

export interface ControllerCaches {
  readonly pods: CacheReader<V1Pod>;
  readonly vmis: CacheReader<V1VirtualMachineInstance>;
  readonly userDataSecrets: CacheReader<V1Secret>;
  readonly tokens: CacheReader<V1Secret>;
  readonly nodes: CacheReader<V1Node>;
}

export interface ReconcilerDeps {
  readonly caches: ControllerCaches;
  readonly writer: ClusterWriter;
  readonly config: () => ControllerConfig;
  readonly caCertHash: () => Promise<string>;
  readonly clock: { now(): number };
  readonly randomBytes: (n: number) => Uint8Array;
  readonly events: EventRecorder;
  readonly metrics: ControllerMetrics;
  readonly logger: Logger;
}

type ConditionAction = Extract<Action, { kind: "setCondition" }>;
/** Every action but conditions, which a reconcile writes together in one status patch. */
type WriteAction = Exclude<Action, ConditionAction>;
const isCondition = (action: Action): action is ConditionAction => action.kind === "setCondition";
/**
 * Writes that nothing after them in the reconcile waits for, which go out together after the others: the pod's
 * records (they touch different fields), the spent token, and a claimed node's retaint (registration, a later
 * reconcile, verifies it). A release never waits behind them, nor a Ready node's next reconcile long.
 */
const goesWithRecords = (action: WriteAction): boolean => action.kind === "annotatePod" || action.kind === "revokeToken" || action.kind === "claimNode";

/** A write that failed, naming the action and the object it was for. */
export class WriteFailedError extends Error {
  readonly action: string;
  readonly object: string;
  constructor(action: string, object: string, cause: unknown) {
    super(`${action} ${object}: ${apiMessageOf(cause)}`, { cause });
    this.name = "WriteFailedError";
    this.action = action;
    this.object = object;
  }
}

function targetOf(action: WriteAction, o: Observed): string {
  const pod = `pod ${o.pod.metadata?.namespace ?? ""}/${o.pod.metadata?.name ?? ""}`;
  switch (action.kind) {
    case "createSecret":
      return `secret ${action.secret.metadata?.namespace ?? ""}/${action.secret.metadata?.name ?? ""}`;
    case "createVmi":
      return `vmi ${o.config.vmNamespace}/${o.vmName}`;
    case "deleteVmi":
      return `vmi ${action.namespace}/${action.name}`;
    case "deleteSecret":
      return `secret ${action.namespace}/${action.name}`;
    case "revokeToken":
      return `secret ${KUBE_SYSTEM_NAMESPACE}/${action.name}`;
    case "claimVmi":
      return `vmi ${o.config.vmNamespace}/${action.name}`;
    case "deleteNode":
    case "trustNode":
    case "claimNode":
      return `node ${action.name}`;
    case "releasePod":
    case "annotatePod":
    case "removeFinalizer":
      return pod;
  }
}

const ownedBy = (uid: string) => (object: { metadata?: { labels?: Record<string, string> } } | undefined): boolean => object?.metadata?.labels?.[OWNED_LABELS.podUid] === uid;

/** A lost claim (someone else's went first) is looked at again this soon: by then the cache shows the other claim. */
const LOST_CLAIM_RETRY_MS = 100;
/** How long a claim this process made is remembered while the cache may not show it yet. */
const RECENT_CLAIM_MS = 30_000;

export function createReconciler(deps: ReconcilerDeps): (key: string) => Promise<ReconcileResult> {
  /** Claims this process made, by pod UID: until the cache shows one, the VMI is read past it (never a second claim). */
  const recentClaims = new Map<string, { name: string; at: number }>();
  /**
   * The VMI this pod owns: the one of its derived name, else (a VM made under an earlier nodeNamePrefix) any VMI whose
   * owner label names it. The VM namespace is the controller's alone, so that label is the controller's record. The
   * cache can lag our own create: before concluding a launched VM vanished, ask the API server.
   */
  async function readOwnedVmi(config: ControllerConfig, pod: V1Pod): Promise<V1VirtualMachineInstance | undefined> {
    const uid = pod.metadata?.uid ?? "";
    const derived = vmNameFor(config, uid);
    const cached = [deps.caches.vmis.get(config.vmNamespace, derived)].find(ownedBy(uid)) ?? deps.caches.vmis.list().find(ownedBy(uid));
    const claim = recentClaims.get(uid);
    if (claim && deps.clock.now() - claim.at > RECENT_CLAIM_MS) recentClaims.delete(uid);
    if (!cached && claim) return [await deps.writer.listVmiByName(config.vmNamespace, claim.name)].find(ownedBy(uid));
    if (cached || conditionOf(pod, POD_CONDITIONS.VMLaunched)?.status !== "True") return cached;
    return [await deps.writer.listVmiByName(config.vmNamespace, derived)].find(ownedBy(uid));
  }

  /** Unclaimed pool VMs whose node is verified and Ready: found by the pool label on VMIs in the controller's namespace. */
  function poolCandidates(config: ControllerConfig): PoolCandidate[] {
    const now = deps.clock.now();
    return deps.caches.vmis.list().flatMap((vmi) => {
      if (!isPoolVmi(vmi)) return [];
      const node = deps.caches.nodes.get(undefined, vmi.metadata?.name ?? "");
      return node && poolVmState(vmi, node, config, now) === "available" ? [{ vmi, node }] : [];
    });
  }

  /** Nothing in the snapshot is found through a field the pod's creator can write: only its UID and owner labels. */
  async function observe(pod: V1Pod): Promise<Observed> {
    const config = deps.config();
    const uid = pod.metadata?.uid ?? "";
    const vmi = await readOwnedVmi(config, pod);
    const vmName = vmi?.metadata?.name ?? vmNameFor(config, uid);
    const userDataSecret = deps.caches.userDataSecrets.get(config.vmNamespace, userDataSecretNameFor(vmName));
    // A claimed pool VM's Secret names no pod: the VMI's claim (its owner label, in the controller's namespace) makes it the pod's.
    const poolSecret = isClaimedPoolVmi(vmi) && userDataSecret?.metadata?.labels?.[POOL_LABEL] === POOL_LABEL_VALUE;
    return {
      pod,
      vmName,
      vmi,
      userDataSecret: ownedBy(uid)(userDataSecret) || poolSecret ? userDataSecret : undefined,
      tokens: deps.caches.tokens.list().filter(ownedBy(uid)),
      node: deps.caches.nodes.get(undefined, vmName),
      poolCandidates: config.warmPool.size > 0 && !vmi && isGated(pod) ? poolCandidates(config) : [],
      config,
      caCertHash: await deps.caCertHash(),
      now: deps.clock.now(),
    };
  }

  /** One write; its metric and log only when it took effect. */
  async function write(action: WriteAction, o: Observed, log: Logger): Promise<boolean> {
    const pod = o.pod;
    const { writer, metrics } = deps;
    switch (action.kind) {
      case "createSecret":
        return writer.createSecret(action.secret);
      case "createVmi": {
        const created = await writer.createVmi(o.config.vmNamespace, action.vmi);
        if (created) {
          metrics.observePhase("gateToVmCreated", pod, o.now);
          log.info("VM created");
        }
        return created;
      }
      case "deleteVmi": {
        const deleted = await writer.deleteVmi(action.namespace, action.name);
        if (deleted) log.info({ vm: action.name }, "VM deleted");
        return deleted;
      }
      case "deleteSecret":
        return writer.deleteSecret(action.namespace, action.name);
      case "revokeToken":
        return writer.deleteSecret(KUBE_SYSTEM_NAMESPACE, action.name);
      case "deleteNode": {
        const deleted = await writer.deleteNode(action.name);
        if (deleted) log.info({ node: action.name }, "node deleted");
        return deleted;
      }
      case "claimVmi": {
        const claimed = await writer.claimVmi(o.config.vmNamespace, action.name, action.pod);
        if (claimed) {
          recentClaims.set(action.pod.uid, { name: action.name, at: deps.clock.now() });
          metrics.observePhase("gateToClaimed", pod, deps.clock.now());
          log.info({ vm: action.name }, "warm pool VM claimed");
        }
        return claimed;
      }
      case "claimNode":
        return writer.claimNode(action.name, action.podUid, o.config.taintKeyPrefix, deps.caches.nodes.get(undefined, action.name));
      case "trustNode":
        await writer.labelNode(action.name, trustedNodeLabels(action.podUid));
        metrics.observeSince("vmCreatedToNodeTrusted", conditionSince(pod, POD_CONDITIONS.VMLaunched), o.now);
        log.info({ node: action.name }, "node verified and trusted");
        return true;
      case "releasePod": {
        if (!(await writer.releasePod(pod, action.podUid, action.node, o.config.taintKeyPrefix))) return false;
        const now = deps.clock.now();
        metrics.observeSince("nodeTrustedToReleased", conditionSince(pod, POD_CONDITIONS.NodeTrusted), now);
        metrics.observePhase("gateToReleased", pod, now);
        log.info({ node: action.node }, "pod released onto its node");
        return true;
      }
      case "annotatePod":
        return writer.annotatePod(pod, action.annotations);
      case "removeFinalizer": {
        const removed = await writer.removeFinalizer(pod);
        if (removed) {
          metrics.teardown();
          log.info("finalizer removed; teardown complete");
        }
        return removed;
      }
    }
  }

  /**
   * An Event is a report: not awaited, as client-go's recorder does not block (waiting for its write put one more
   * round trip before every release in the pipeline benchmark). record() never throws.
   */
  const report = (pod: V1Pod, r: Report | undefined): void => {
    if (!r) return;
    void deps.events.record({ apiVersion: "v1", kind: "Pod", metadata: pod.metadata }, r.type, r.reason, r.message);
    deps.metrics.event(r.type, r.reason);
    deps.metrics.warmPoolReport(r.reason);
  };

  async function perform(action: WriteAction, o: Observed, log: Logger): Promise<boolean> {
    let tookEffect: boolean;
    try {
      tookEffect = await write(action, o, log);
    } catch (error) {
      throw new WriteFailedError(action.kind, targetOf(action, o), error);
    }
    if (tookEffect && "report" in action) report(o.pod, action.report);
    return tookEffect;
  }

  /** All of a reconcile's conditions in one status patch, then the Events that report them. */
  async function patchConditions(o: Observed, actions: readonly ConditionAction[]): Promise<void> {
    const conditions = actions.map(({ condition }) => {
      const current = conditionOf(o.pod, condition.type);
      const since = current?.status === condition.status && current.lastTransitionTime ? current.lastTransitionTime : new Date(o.now);
      return { ...condition, lastTransitionTime: new Date(since) };
    });
    try {
      await deps.writer.patchConditions(o.pod, conditions);
    } catch (error) {
      throw new WriteFailedError("setCondition", `pod ${o.pod.metadata?.namespace ?? ""}/${o.pod.metadata?.name ?? ""} status`, error);
    }
    for (const action of actions) report(o.pod, action.report);
  }

  return async (key) => {
    const [namespace, name] = key.split("/", 2) as [string, string];
    const pod = deps.caches.pods.get(namespace, name);
    if (!pod) return {};
    const o = await observe(pod);
    const result = decide(o, deps.randomBytes);
    if (result.kind === "skip") return {};
    if (result.kind === "act") {
      const log = deps.logger.child({ pod: key, vm: o.vmName });
      // The writes in order, then the records together: each round trip saved shortens the way to a release.
      const writes = result.actions.filter((a): a is WriteAction => !isCondition(a));
      for (const action of writes.filter((a) => !goesWithRecords(a))) {
        // Someone else's claim went first: nothing after it is this pod's to write.
        if (!(await perform(action, o, log)) && action.kind === "claimVmi") return { requeueAfterMs: LOST_CLAIM_RETRY_MS };
      }
      const conditions = result.actions.filter(isCondition);
      await Promise.all([
        ...(conditions.length > 0 ? [patchConditions(o, conditions)] : []),
        ...writes.filter(goesWithRecords).map((action) => perform(action, o, log)),
      ]);
    }
    return result.requeueAfterMs === undefined ? {} : { requeueAfterMs: result.requeueAfterMs };
  };
}
