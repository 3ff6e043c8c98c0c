import { CoordinationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { POD_CONDITIONS } from "../src/api/conditions.ts";
import { DEFAULT_SYSTEM_NAMESPACE } from "../src/api/names.ts";
import { attemptsOf } from "../src/controller/observed.ts";
import { pollUntil } from "../src/util/poll.ts";
import { allRunningOnOwnNodes, burst, deleteAllAndCount, leftovers, sleep, vmName } from "./support/fleet.ts";
import { adminKubeConfig, createNamespace } from "./support/kube.ts";
import { startComponent, startStack, type ComponentProcess, type Stack } from "./support/stack.ts";

let admin: KubeConfig;
let stack: Stack | undefined;
const extra: ComponentProcess[] = [];

beforeAll(() => {
  admin = adminKubeConfig();
});

afterEach(async () => {
  for (const process of extra.splice(0)) await process.stop("SIGKILL");
  await stack?.stop();
  stack = undefined;
});

describe("controller resilience", () => {
  it("with two replicas, killing the leader mid-flight hands over and every pod still lands", async () => {
    stack = await startStack(admin, ["--leader-elect=true"]);
    extra.push(await startComponent("controller", stack.controllerArgs));
    const leases = admin.makeApiClient(CoordinationV1Api);
    const holder = async () => (await leases.readNamespacedLease({ namespace: DEFAULT_SYSTEM_NAMESPACE, name: "maroonedpods-controller" })).spec?.holderIdentity ?? "";
    const first = await pollUntil("a leader", async () => (await holder()) || undefined, { timeoutMs: 30_000 });
    const [leader, follower] = first.endsWith(`_${stack.controller.pid}`) ? [stack.controller, extra[0]] : [extra[0], stack.controller];
    expect(first.endsWith(`_${leader?.pid ?? -1}`)).toBe(true);

    const namespace = await createNamespace(admin, "handover");
    const uids = await burst(admin, namespace, 5);
    await sleep(300);
    await leader?.stop("SIGKILL");
    const next = await pollUntil("the follower to take the lease", async () => {
      const current = await holder();
      return current && current !== first ? current : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(next.endsWith(`_${follower?.pid ?? -1}`)).toBe(true);
    await allRunningOnOwnNodes(admin, namespace, uids.length, 90_000);
  }, 180_000);

  it("SIGKILLed 10 times at random moments during a 200-pod burst and restarted: every pod lands once, nothing duplicated or leaked, one attempt each", async () => {
    stack = await startStack(admin, ["--leader-elect=false"]);
    const namespace = await createNamespace(admin, "chaos");
    const uids = await burst(admin, namespace, 200);
    for (let kill = 0; kill < 10; kill++) {
      await sleep(300 + Math.floor(Math.random() * 1_500));
      await stack.controller.stop("SIGKILL");
      stack.controller = await startComponent("controller", stack.controllerArgs);
    }
    const pods = await allRunningOnOwnNodes(admin, namespace, 200, 360_000);
    expect(new Set(pods.map((p) => p.spec?.nodeName)).size).toBe(200);
    // No VM failed here, so a restart never cost a pod a second attempt.
    expect(pods.filter((p) => attemptsOf(p) !== 1).map((p) => p.status?.conditions?.find((c) => c.type === POD_CONDITIONS.VMAttempts)?.message)).toEqual([]);

    const running = await leftovers(admin, uids);
    expect(running.vmis.map((v) => v.metadata?.name).sort()).toEqual(uids.map(vmName).sort());
    expect(running.secrets).toHaveLength(200);
    expect(running.tokens).toEqual([]);
    expect(running.nodes).toHaveLength(200);
    expect(await deleteAllAndCount(admin, namespace, uids)).toEqual({ vmis: 0, secrets: 0, tokens: 0, nodes: 0 });
  }, 600_000);
});
