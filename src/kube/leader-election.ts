import { setTimeout as sleep } from "node:timers/promises";
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease, type V1LeaseSpec } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { isNotFound, statusCodeOf } from "./errors.ts";

export interface LeaderElectionOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  /** How long others wait after the last renewal before taking over. */
  readonly leaseDurationMs?: number;
  /** How long the leader keeps leading while its renewals fail; must be shorter than the lease. */
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  readonly clock?: { now(): number };
  readonly logger: Logger;
  /** Aborting ends the election; a held lease is released so another candidate can take it at once. */
  readonly signal: AbortSignal;
}

export interface LeaderCallbacks {
  /** `leadership` aborts when leadership ends; the work it guards must stop then. */
  onStartedLeading(leadership: AbortSignal): void;
  onStoppedLeading(): void;
  onNewLeader?(identity: string): void;
}

export type LeaseAction = "create" | "acquire" | "renew" | "wait";

/** The fields the decision reads. Times may be strings: client-node does not revive MicroTime fields. */
export interface LeaseView {
  readonly spec?: {
    readonly holderIdentity?: string;
    readonly renewTime?: Date | string;
    readonly leaseDurationSeconds?: number;
  };
}

/**
 * What a candidate should do with the Lease as read. Expiry is judged against
 * renewTime with the longer of our duration and the one the holder declared,
 * so no candidate takes over earlier than either side expects; this assumes
 * clocks agree to well within leaseDuration - renewDeadline.
 */
export function decideLeaseAction(lease: LeaseView | undefined, identity: string, nowMs: number, leaseDurationMs: number): LeaseAction {
  if (!lease) return "create";
  const holder = lease.spec?.holderIdentity ?? "";
  if (holder === identity) return "renew";
  if (holder === "") return "acquire";
  const durationMs = Math.max(leaseDurationMs, (lease.spec?.leaseDurationSeconds ?? 0) * 1000);
  return nowMs >= timeMs(lease.spec?.renewTime) + durationMs ? "acquire" : "wait";
}

/** A missing or unreadable time counts as long past, so a damaged Lease cannot block the election forever. */
function timeMs(value: Date | string | undefined): number {
  const ms = value instanceof Date ? value.getTime() : value === undefined ? Number.NaN : Date.parse(value);
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
}

/** The spec to write for `action`; V1MicroTime serializes with the microseconds the API requires. */
export function nextLeaseSpec(action: Exclude<LeaseAction, "wait">, current: V1LeaseSpec | undefined, identity: string, nowMs: number, leaseDurationMs: number): V1LeaseSpec {
  const now = new V1MicroTime(nowMs);
  const renewed = { ...current, holderIdentity: identity, leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000), renewTime: now };
  if (action === "renew") return renewed;
  return { ...renewed, acquireTime: now, leaseTransitions: action === "acquire" ? (current?.leaseTransitions ?? 0) + 1 : 0 };
}

/** An empty holder tells every candidate it may take the Lease now. */
export function releasedLeaseSpec(current: V1LeaseSpec | undefined, nowMs: number): V1LeaseSpec {
  return { ...current, holderIdentity: "", leaseDurationSeconds: 1, renewTime: new V1MicroTime(nowMs) };
}

interface Elector {
  readonly api: CoordinationV1Api;
  readonly options: LeaderElectionOptions;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly now: () => number;
  readonly logger: Logger;
  /** Reports a holder to onNewLeader when it differs from the last one reported. */
  readonly observe: (holder: string | undefined) => void;
}

/**
 * Lease-based leader election after client-go's: candidates poll every
 * retryPeriod, take an expired or released Lease, and the leader renews it;
 * every write carries the resourceVersion read, so of two racing writers one
 * gets 409 and stays a follower. Resolves once options.signal aborts.
 */
export async function runLeaderElection(options: LeaderElectionOptions, callbacks: LeaderCallbacks): Promise<void> {
  const elector = electorFor(options, callbacks);
  for (;;) {
    const acquiredAt = await acquire(elector);
    if (acquiredAt === undefined) return;
    if (!options.signal.aborted) await lead(elector, callbacks, acquiredAt);
    if (options.signal.aborted) {
      await release(elector);
      return;
    }
  }
}

function electorFor(options: LeaderElectionOptions, callbacks: LeaderCallbacks): Elector {
  const leaseDurationMs = options.leaseDurationMs ?? 15_000;
  const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
  const retryPeriodMs = options.retryPeriodMs ?? 2_000;
  if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
    throw new Error(`leader election needs retryPeriod < renewDeadline < leaseDuration, got ${retryPeriodMs} / ${renewDeadlineMs} / ${leaseDurationMs} ms`);
  }
  const clock = options.clock ?? Date;
  let reported = "";
  return {
    api: options.kubeConfig.makeApiClient(CoordinationV1Api),
    options,
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    now: () => clock.now(),
    logger: options.logger.child({ lease: `${options.namespace}/${options.name}`, identity: options.identity }),
    observe: (holder) => {
      if (!holder || holder === reported) return;
      reported = holder;
      callbacks.onNewLeader?.(holder);
    },
  };
}

/**
 * Polls until we hold the Lease; returns when that attempt started, or undefined
 * once aborted. An attempt in flight is let finish (up to renewDeadline), so we
 * never hold the Lease without knowing it.
 */
async function acquire(elector: Elector): Promise<number | undefined> {
  for (;;) {
    const startedAt = elector.now();
    try {
      if (await within(elector.renewDeadlineMs, tryAcquireOrRenew(elector, false))) return startedAt;
    } catch (error) {
      elector.logger.warn({ err: error }, "could not read or take the lease");
    }
    if (!(await pause(elector.retryPeriodMs, elector.options.signal))) return undefined;
  }
}

/**
 * Renews every retryPeriod until the Lease is seen in other hands, renewals
 * have failed past renewDeadline, or we are told to stop. Others wait a full
 * leaseDuration after our last renewal, so stopping at renewDeadline leaves a
 * margin in which no two leaders overlap.
 */
async function lead(elector: Elector, callbacks: LeaderCallbacks, acquiredAt: number): Promise<void> {
  elector.logger.info("started leading");
  const leadership = new AbortController();
  callbacks.onStartedLeading(leadership.signal);
  await renewUntilLost(elector, acquiredAt);
  leadership.abort();
  callbacks.onStoppedLeading();
  elector.logger.info("stopped leading");
}

async function renewUntilLost(elector: Elector, renewedAt: number): Promise<void> {
  const remaining = () => renewedAt + elector.renewDeadlineMs - elector.now();
  for (;;) {
    if (!(await pause(Math.min(elector.retryPeriodMs, Math.max(0, remaining())), elector.options.signal))) return;
    if (remaining() <= 0) {
      elector.logger.warn({ renewDeadlineMs: elector.renewDeadlineMs }, "could not renew the lease in time");
      return;
    }
    const startedAt = elector.now();
    try {
      if (!(await within(remaining(), tryAcquireOrRenew(elector, true)))) {
        elector.logger.warn("the lease is in other hands");
        return;
      }
      renewedAt = startedAt;
    } catch (error) {
      elector.logger.warn({ err: error }, "could not renew the lease; retrying");
    }
  }
}

/**
 * One read-decide-write round; true when we hold the Lease afterwards. A leader
 * only renews: finding the Lease in other hands means it was lost, even if it is
 * free again now. A 409 means another candidate wrote first.
 */
async function tryAcquireOrRenew(elector: Elector, leading: boolean): Promise<boolean> {
  const { identity } = elector.options;
  const lease = await readLease(elector);
  elector.observe(lease?.spec?.holderIdentity);
  const now = elector.now();
  const action = decideLeaseAction(lease, identity, now, elector.leaseDurationMs);
  if (action === "wait" || (leading && action !== "renew")) return false;
  try {
    await writeLease(elector, lease, nextLeaseSpec(action, lease?.spec, identity, now, elector.leaseDurationMs));
  } catch (error) {
    if (statusCodeOf(error) === 409) return false;
    throw error;
  }
  if (action !== "renew") elector.logger.info({ action }, "took the lease");
  elector.observe(identity);
  return true;
}

async function readLease(elector: Elector): Promise<V1Lease | undefined> {
  const { namespace, name } = elector.options;
  try {
    return await elector.api.readNamespacedLease({ namespace, name });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Creates the Lease, or replaces it carrying the resourceVersion read. */
async function writeLease(elector: Elector, lease: V1Lease | undefined, spec: V1LeaseSpec): Promise<void> {
  const { namespace, name } = elector.options;
  if (lease) await elector.api.replaceNamespacedLease({ namespace, name, body: { ...lease, spec } });
  else await elector.api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec } });
}

/** Best effort: if it fails, others take over once the lease expires. */
async function release(elector: Elector): Promise<void> {
  try {
    await within(elector.renewDeadlineMs, (async () => {
      const lease = await readLease(elector);
      if (!lease || lease.spec?.holderIdentity !== elector.options.identity) return;
      await writeLease(elector, lease, releasedLeaseSpec(lease.spec, elector.now()));
      elector.logger.info("released the lease");
    })());
  } catch (error) {
    elector.logger.warn({ err: error }, "could not release the lease; others take it once it expires");
  }
}

/** Sleeps; false when aborted. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops waiting for `work` after `ms`, so a hung connection cannot hold a
 * leader past its deadline. client-node's typed calls take no AbortSignal, so
 * the request itself runs on; a late write is harmless, as the next round reads
 * the Lease afresh.
 */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  const timer = setTimeout(() => {
    reject(new Error(`no answer from the API server within ${ms} ms`));
  }, ms);
  void work.then(resolve, reject).finally(() => {
    clearTimeout(timer);
  });
  return promise;
}
