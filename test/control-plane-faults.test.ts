// The controller against a control plane that fails under it: its own cluster (the others share one), whose
// kube-apiserver and etcd this file kills and restarts in the middle of a burst of marooned pods.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNamespace } from "./support/kube.ts";
import { allRunningOnOwnNodes, burst, deleteAllAndCount, leftovers, sleep, vmName } from "./support/fleet.ts";
import { startOwnCluster, type OwnCluster } from "./support/own-cluster.ts";
import { startStack, type Stack } from "./support/stack.ts";

let cluster: OwnCluster;
let stack: Stack;

beforeAll(async () => {
  cluster = await startOwnCluster({ projectResources: true });
  stack = await startStack(cluster.admin, ["--leader-elect=false"]);
}, 300_000);

afterAll(async () => {
  await stack.stop();
  await cluster.stop();
});

/** Every pod on its own node, exactly one VMI, Secret and Node each, no token left; then nothing left once deleted. */
async function expectLandedOnceAndCleanUp(namespace: string, uids: readonly string[]): Promise<void> {
  const pods = await allRunningOnOwnNodes(cluster.admin, namespace, uids.length, 360_000);
  expect(new Set(pods.map((p) => p.spec?.nodeName)).size).toBe(uids.length);
  const running = await leftovers(cluster.admin, uids);
  expect(running.vmis.map((v) => v.metadata?.name).sort()).toEqual(uids.map(vmName).sort());
  expect(running.secrets).toHaveLength(uids.length);
  expect(running.nodes).toHaveLength(uids.length);
  expect(running.tokens).toEqual([]);
  expect(await deleteAllAndCount(cluster.admin, namespace, uids)).toEqual({ vmis: 0, secrets: 0, tokens: 0, nodes: 0 });
}

describe("a control plane that fails under the controller", () => {
  it("kube-apiserver killed and restarted 3 times during a 100-pod burst: every pod lands once, nothing duplicated or leaked", async () => {
    const namespace = await createNamespace(cluster.admin, "apiserver-down");
    const uids = await burst(cluster.admin, namespace, 100);
    for (let kill = 0; kill < 3; kill++) {
      await sleep(1_000 + Math.floor(Math.random() * 2_000));
      await cluster.faults.kill("kube-apiserver");
      await sleep(2_000);
      await cluster.faults.restart("kube-apiserver");
    }
    await expectLandedOnceAndCleanUp(namespace, uids);
  }, 900_000);

  it("etcd stopped for 20 s during a 100-pod burst: every pod lands once, nothing duplicated or leaked", async () => {
    const namespace = await createNamespace(cluster.admin, "etcd-down");
    const uids = await burst(cluster.admin, namespace, 100);
    await sleep(2_000);
    await cluster.faults.kill("etcd");
    await sleep(20_000);
    await cluster.faults.restart("etcd");
    await expectLandedOnceAndCleanUp(namespace, uids);
  }, 900_000);
});
