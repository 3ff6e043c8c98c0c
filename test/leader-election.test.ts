import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { CoordinationV1Api, KubeConfig, V1MicroTime, type V1Lease } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { runLeaderElection } from "../src/kube/leader-election.ts";
import { pollUntil } from "../src/util/poll.ts";
import { adminKubeConfig, createNamespace, randomSuffix } from "./support/kube.ts";

const TIMING = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 200 } as const;
const logger = pino({ level: process.env.MAROONEDPODS_TEST_LOG_LEVEL ?? "silent" });

interface LeadershipEvent {
  readonly identity: string;
  readonly kind: "started" | "stopped";
  readonly at: number;
}

/** Every candidate's callbacks, in order, and whether two ever led at once. */
class Ledger {
  readonly events: LeadershipEvent[] = [];
  readonly leading = new Map<string, AbortSignal>();
  readonly newLeadersSeen = new Map<string, string[]>();
  overlaps = 0;

  started(identity: string, leadership: AbortSignal): void {
    if (this.leading.size > 0) this.overlaps++;
    this.leading.set(identity, leadership);
    this.events.push({ identity, kind: "started", at: Date.now() });
  }

  stopped(identity: string): void {
    expect(this.leading.get(identity)?.aborted, `${identity}'s leadership signal aborts before onStoppedLeading`).toBe(true);
    this.leading.delete(identity);
    this.events.push({ identity, kind: "stopped", at: Date.now() });
  }

  sawNewLeader(observer: string, leader: string): void {
    this.newLeadersSeen.set(observer, [...(this.newLeadersSeen.get(observer) ?? []), leader]);
  }

  leaders = (): string[] => [...this.leading.keys()];
  timeOf = (identity: string, kind: LeadershipEvent["kind"]): number | undefined => this.events.find((e) => e.identity === identity && e.kind === kind)?.at;
}

let namespace: string;
let coordination: CoordinationV1Api;
let ledger: Ledger;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const admin = adminKubeConfig();
  namespace = await createNamespace(admin, "leader-election");
  coordination = admin.makeApiClient(CoordinationV1Api);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function startCandidate(identity: string, leaseName: string, kubeConfig = adminKubeConfig()): { stop: () => Promise<void> } {
  const controller = new AbortController();
  const done = runLeaderElection(
    { kubeConfig, namespace, name: leaseName, identity, ...TIMING, logger, signal: controller.signal },
    {
      onStartedLeading: (leadership) => {
        ledger.started(identity, leadership);
      },
      onStoppedLeading: () => {
        ledger.stopped(identity);
      },
      onNewLeader: (leader) => {
        ledger.sawNewLeader(identity, leader);
      },
    },
  );
  const stop = async () => {
    controller.abort();
    await done;
  };
  cleanups.push(stop);
  return { stop };
}

const readLease = (name: string): Promise<V1Lease> => coordination.readNamespacedLease({ namespace, name });
const soleLeader = (): Promise<string> => pollUntil("exactly one leader", () => Promise.resolve(ledger.leaders().length === 1 ? ledger.leaders()[0] : undefined), { timeoutMs: 10_000, intervalMs: 20 });
const leaderIs = (identity: string, timeoutMs: number): Promise<number> =>
  pollUntil(`${identity} to lead`, () => Promise.resolve(ledger.leading.has(identity) ? ledger.timeOf(identity, "started") : undefined), { timeoutMs, intervalMs: 20 });

/** A TCP relay to the API server that can be cut: open connections drop, new ones are accepted and never answered. */
async function startCuttableRelay(target: URL): Promise<{ port: number; cut: () => void; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let isCut = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
  };
  const server = createServer((client) => {
    track(client);
    if (isCut) return;
    const upstream = connect(Number(target.port || 443), target.hostname);
    track(upstream);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const destroyAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    port: (server.address() as AddressInfo).port,
    cut: () => {
      isCut = true;
      destroyAll();
    },
    close: async () => {
      destroyAll();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The admin kubeconfig, reaching the API server through `port`; the certificate is still checked against the real name. */
function kubeConfigVia(port: number): KubeConfig {
  const admin = adminKubeConfig();
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error("the admin kubeconfig names no cluster");
  const { hostname } = new URL(cluster.server);
  const relayed = new KubeConfig();
  relayed.loadFromOptions({
    clusters: [{ ...cluster, server: `https://127.0.0.1:${port}`, tlsServerName: hostname === "127.0.0.1" ? undefined : hostname }],
    users: admin.users,
    contexts: admin.contexts,
    currentContext: admin.currentContext,
  });
  return relayed;
}

describe("Lease leader election against the API server", () => {
  afterEach(() => {
    expect(ledger.overlaps, "two candidates led at once").toBe(0);
  });

  it("elects exactly one of two candidates and hands over at once when the leader stops", async () => {
    ledger = new Ledger();
    const leaseName = `lease-${randomSuffix()}`;
    const candidates = { a: startCandidate("a", leaseName), b: startCandidate("b", leaseName) };
    const leader = (await soleLeader()) as keyof typeof candidates;
    const follower = leader === "a" ? "b" : "a";
    await sleep(1_000); // several renewals, during which the follower keeps waiting
    expect(ledger.leaders()).toEqual([leader]);
    const held = await readLease(leaseName);
    expect(held.spec?.holderIdentity).toBe(leader);
    expect(JSON.stringify(held.spec?.renewTime)).toMatch(/\.\d{6}Z"$/);
    expect(ledger.newLeadersSeen.get(follower)).toEqual([leader]);

    const stoppingAt = Date.now();
    await candidates[leader].stop();
    expect(ledger.timeOf(leader, "stopped")).toBeDefined();
    const takenAt = await leaderIs(follower, 3_000);
    expect(takenAt - stoppingAt).toBeLessThan(3_000);
    const taken = await readLease(leaseName);
    expect(taken.spec?.holderIdentity).toBe(follower);
    expect(taken.spec?.leaseTransitions).toBe((held.spec?.leaseTransitions ?? 0) + 1);
    expect(ledger.newLeadersSeen.get(follower)).toEqual([leader, follower]);
  });

  it("takes a lease from a holder that died without releasing only once it expires", async () => {
    ledger = new Ledger();
    const leaseName = `lease-${randomSuffix()}`;
    const renewedAt = Date.now();
    await coordination.createNamespacedLease({
      namespace,
      body: {
        metadata: { name: leaseName },
        spec: { holderIdentity: "dead", leaseDurationSeconds: 2, acquireTime: new V1MicroTime(renewedAt), renewTime: new V1MicroTime(renewedAt), leaseTransitions: 3 },
      },
    });
    startCandidate("heir", leaseName);

    await sleep(renewedAt + TIMING.leaseDurationMs - 300 - Date.now());
    expect(ledger.leaders()).toEqual([]);
    expect((await readLease(leaseName)).spec?.holderIdentity).toBe("dead");

    const takenAt = await leaderIs("heir", 3_000);
    expect(takenAt - renewedAt).toBeGreaterThanOrEqual(TIMING.leaseDurationMs);
    expect(takenAt - renewedAt).toBeLessThan(TIMING.leaseDurationMs + 1_000);
    const taken = await readLease(leaseName);
    expect(taken.spec?.holderIdentity).toBe("heir");
    expect(taken.spec?.leaseTransitions).toBe(4);
    expect(ledger.newLeadersSeen.get("heir")).toEqual(["dead", "heir"]);
  });

  it("makes a leader cut off from the API server stop before another takes over", async () => {
    ledger = new Ledger();
    const leaseName = `lease-${randomSuffix()}`;
    const server = adminKubeConfig().getCurrentCluster()?.server ?? "";
    const relay = await startCuttableRelay(new URL(server));
    cleanups.push(relay.close);
    startCandidate("cut-off", leaseName, kubeConfigVia(relay.port));
    await leaderIs("cut-off", 10_000);
    startCandidate("connected", leaseName);
    await sleep(600);
    expect(ledger.leaders()).toEqual(["cut-off"]);
    const held = await readLease(leaseName);

    const cutAt = Date.now();
    relay.cut();
    const takenAt = await leaderIs("connected", 5_000);
    const stoppedAt = ledger.timeOf("cut-off", "stopped") ?? Number.POSITIVE_INFINITY;
    expect(stoppedAt - cutAt).toBeLessThanOrEqual(TIMING.renewDeadlineMs + 100);
    expect(takenAt - stoppedAt).toBeGreaterThanOrEqual(TIMING.leaseDurationMs - TIMING.renewDeadlineMs - 100);
    expect(takenAt - cutAt).toBeLessThan(TIMING.leaseDurationMs + 1_000);
    const taken = await readLease(leaseName);
    expect(taken.spec?.holderIdentity).toBe("connected");
    expect(taken.spec?.leaseTransitions).toBe((held.spec?.leaseTransitions ?? 0) + 1);
  });
});
