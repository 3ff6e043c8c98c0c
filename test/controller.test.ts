import { AppsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, Watch, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { OWNED_LABELS, POD_ANNOTATIONS, POD_CONDITIONS, REASONS } from "../src/api/conditions.ts";
import { DEFAULT_VM_NAMESPACE, MAROON_LABEL, MAROONED_NODE_LABEL, NODE_POD_UID_LABEL, SCHEDULING_GATE, TRUSTED_NODE_LABEL } from "../src/api/names.ts";
import { FAULTS_CONFIGMAP, INJECT_FAILURE_ANNOTATION } from "../src/simulator/constants.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../src/kubevirt/api.ts";
import { pollUntil } from "../src/util/poll.ts";
import { adminKubeConfig, gone, namespaceWithServiceAccount, runningPod, vmiClient } from "./support/kube.ts";
import { withoutPolicyBinding } from "./support/policies.ts";
import { startComponent, startStack, type Stack } from "./support/stack.ts";
import { POLICY_NAMES } from "../webhook/manifests.ts";

let admin: KubeConfig;
let core: CoreV1Api;
let stack: Stack;
const vmName = (uid: string) => `marooned-${uid}`;
const CLI = fileURLToPath(new URL("../bin/maroonedpods.js", import.meta.url));
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

const maroonedPod = (name: string, extra: Partial<NonNullable<V1Pod["spec"]>> = {}): V1Pod => ({
  metadata: { name, labels: { [MAROON_LABEL]: "true" } },
  spec: { containers: [{ name: "main", image: "registry.example/app:1", resources: { requests: { cpu: "500m", memory: "256Mi" } } }], ...extra },
});

async function tokensFor(uid: string) {
  return (await core.listNamespacedSecret({ namespace: "kube-system", labelSelector: `${OWNED_LABELS.podUid}=${uid}` })).items;
}

beforeAll(async () => {
  admin = adminKubeConfig();
  core = admin.makeApiClient(CoreV1Api);
  stack = await startStack(admin, ["--leader-elect=false", "--orphan-sweep-interval=2s"]);
}, 120_000);

afterAll(async () => {
  await stack.stop();
});

describe("the controller, end to end with the webhook, the real scheduler and the KubeVirt simulator", () => {
  it("runs a labeled pod on its own verified VM node and deletes the bootstrap token", async () => {
    const namespace = await namespaceWithServiceAccount(admin, "e2e");
    const seen: V1Pod[] = [];
    const watching = await new Watch(admin).watch(`/api/v1/namespaces/${namespace}/pods`, {}, (_type: string, pod: V1Pod) => { seen.push(pod); }, () => undefined);
    const { created, pod } = await (async () => {
      try {
        const created = await core.createNamespacedPod({ namespace, body: maroonedPod("app") });
        return { created, pod: await runningPod(admin, namespace, "app") };
      } finally {
        watching.abort();
      }
    })();
    expect(created.metadata?.annotations).toBeUndefined();
    const uid = created.metadata?.uid ?? "";

    expect(pod.spec?.nodeName).toBe(vmName(uid));
    expect(pod.spec?.schedulingGates ?? []).toEqual([]);
    expect(pod.spec?.nodeSelector).toEqual({ [MAROONED_NODE_LABEL]: "true", [TRUSTED_NODE_LABEL]: uid });
    expect(pod.spec?.runtimeClassName).toBe("marooned");
    // A report for people, carried by the release itself even to a pod with no annotations: the first version of the
    // pod without the gate has it.
    const released = seen.find((p) => p.metadata?.uid === uid && !(p.spec?.schedulingGates ?? []).some((g) => g.name === SCHEDULING_GATE));
    expect(released?.metadata?.annotations).toEqual({ [POD_ANNOTATIONS.node]: vmName(uid) });
    expect(pod.status?.conditions?.find((c) => c.type === POD_CONDITIONS.VMAttempts)?.message).toBe("attempt 1 of 3");
    for (const type of [POD_CONDITIONS.VMLaunched, POD_CONDITIONS.VMAttempts, POD_CONDITIONS.NodeRegistered, POD_CONDITIONS.NodeTrusted]) {
      expect(pod.status?.conditions?.find((c) => c.type === type)?.status, type).toBe("True");
    }
    // A node that never faltered costs no NodeReady write.
    expect(pod.status?.conditions?.find((c) => c.type === POD_CONDITIONS.NodeReady)).toBeUndefined();
    const node = await core.readNode({ name: vmName(uid) });
    expect(node.metadata?.labels).toMatchObject({ [TRUSTED_NODE_LABEL]: uid, [MAROONED_NODE_LABEL]: "true", [NODE_POD_UID_LABEL]: uid });
    const vmi = await vmiClient(admin).read(DEFAULT_VM_NAMESPACE, vmName(uid));
    expect(vmi.spec.volumes?.find((v) => v.cloudInitNoCloud)?.cloudInitNoCloud?.secretRef?.name).toBe(`${vmName(uid)}-cloud-init`);
    expect(JSON.stringify(vmi.spec)).not.toMatch(/[a-z0-9]{6}\.[a-z0-9]{16}/);
    expect(await tokensFor(uid)).toEqual([]);
  });


  it("runs a pod selected by the marooned RuntimeClass on its own node, paying the VM overhead", async () => {
    const namespace = await namespaceWithServiceAccount(admin, "runtimeclass");
    const body: V1Pod = { metadata: { name: "app" }, spec: { runtimeClassName: "marooned", containers: [{ name: "main", image: "registry.example/app:1" }] } };
    const uid = (await core.createNamespacedPod({ namespace, body })).metadata?.uid ?? "";
    const pod = await runningPod(admin, namespace, "app");
    expect(pod.spec?.nodeName).toBe(vmName(uid));
    expect(pod.spec?.nodeSelector).toEqual({ [MAROONED_NODE_LABEL]: "true", [TRUSTED_NODE_LABEL]: uid });
    expect(pod.spec?.overhead).toEqual({ cpu: "1", memory: "1Gi" });
  });
  it("`maroonedpods status` shows the pod, its VM and node, the step times and the last event", async () => {
    const namespace = await namespaceWithServiceAccount(admin, "status");
    const uid = (await core.createNamespacedPod({ namespace, body: maroonedPod("shown") })).metadata?.uid ?? "";
    await runningPod(admin, namespace, "shown");
    const output = execFileSync(process.execPath, [CLI, "status", `--kubeconfig=${inject("kubeconfigPath")}`, `${namespace}/shown`], { encoding: "utf8" });
    const [header, row, ...more] = output.trimEnd().split("\n");
    expect(header).toMatch(/^POD\s+VM\s+NODE\s+PHASE\s+VM CREATED\s+NODE TRUSTED\s+RUNNING\s+LAST EVENT$/);
    expect(more).toEqual([]);
    expect(row).toMatch(new RegExp(`^${namespace}/shown\\s+${vmName(uid)}\\s+${vmName(uid)}\\s+Running\\s+[\\d.]+s\\s+[\\d.]+s\\s+[\\d.]+s\\s+(PodReleased: released onto node|Scheduled: Successfully assigned ${namespace}/shown to) ${vmName(uid)}$`));
    const everywhere = execFileSync(process.execPath, [CLI, "status", `--kubeconfig=${inject("kubeconfigPath")}`], { encoding: "utf8" });
    expect(everywhere).toContain(`${namespace}/shown`);
  });

  it("`maroonedpods doctor` passes what this cluster has and names a fix for what it lacks", () => {
    let output = "";
    let status = 0;
    try {
      output = execFileSync(process.execPath, [CLI, "doctor", `--kubeconfig=${inject("kubeconfigPath")}`], { encoding: "utf8" });
    } catch (error) {
      ({ stdout: output, status } = error as { stdout: string; status: number });
    }
    const row = (check: string) => output.split("\n").find((line) => line.startsWith(check)) ?? "";
    for (const check of ["Kubernetes >= 1.30", "VirtualMachineInstance CRD", "bootstrap-token authentication", "CSR auto-approval RBAC", "webhook reachable", "config valid"]) {
      expect(row(check), check).toMatch(/\spass\s/);
    }
    // The simulator serves VMIs without a KubeVirt install, and this is a kubeadm-style cluster while joinMethod defaults to k3s.
    expect(row("KubeVirt installed")).toMatch(/FAIL\s+no KubeVirt custom resource: install KubeVirt/);
    expect(row("cluster kind matches joinMethod")).toMatch(/FAIL\s+.*set spec\.joinMethod: kubeadm/);
    expect(status).toBe(1);
  });

  it("gives two pods with the same name in two namespaces distinct VMs and nodes", async () => {
    const [a, b] = [await namespaceWithServiceAccount(admin, "twin"), await namespaceWithServiceAccount(admin, "twin")];
    await core.createNamespacedPod({ namespace: a, body: maroonedPod("same") });
    await core.createNamespacedPod({ namespace: b, body: maroonedPod("same") });
    const [podA, podB] = [await runningPod(admin, a, "same"), await runningPod(admin, b, "same")];
    expect(podA.spec?.nodeName).toBe(vmName(podA.metadata?.uid ?? ""));
    expect(podB.spec?.nodeName).toBe(vmName(podB.metadata?.uid ?? ""));
    expect(podA.spec?.nodeName).not.toBe(podB.spec?.nodeName);
  });

  it("gives each pod of a 3-replica Deployment its own VM", async () => {
    const namespace = await namespaceWithServiceAccount(admin, "deploy");
    await admin.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: "web" },
        spec: { replicas: 3, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web", [MAROON_LABEL]: "true" } }, spec: { containers: [{ name: "main", image: "registry.example/app:1" }] } } },
      },
    });
    const pods = await pollUntil("3 Running replicas", async () => {
      const list = await core.listNamespacedPod({ namespace, labelSelector: "app=web" });
      return list.items.length === 3 && list.items.every((p) => p.status?.phase === "Running") ? list.items : undefined;
    }, { timeoutMs: 120_000, intervalMs: 1_000 });
    const nodes = new Set(pods.map((p) => p.spec?.nodeName));
    expect(nodes.size).toBe(3);
    for (const pod of pods) expect(pod.spec?.nodeName).toBe(vmName(pod.metadata?.uid ?? ""));
  });

  it("tears down a completed Job pod's VM, Secret and node while the pod remains", async () => {
    const namespace = await namespaceWithServiceAccount(admin, "job");
    await admin.makeApiClient(BatchV1Api).createNamespacedJob({
      namespace,
      body: { metadata: { name: "once" }, spec: { backoffLimit: 0, template: { metadata: { labels: { [MAROON_LABEL]: "true" } }, spec: { restartPolicy: "Never", containers: [{ name: "main", image: "registry.example/app:1" }] } } } },
    });
    const pod = await pollUntil("the Job pod Succeeded", async () => {
      const [first] = (await core.listNamespacedPod({ namespace, labelSelector: "job-name=once" })).items;
      return first?.status?.phase === "Succeeded" ? first : undefined;
    }, { timeoutMs: 120_000, intervalMs: 1_000 });
    const uid = pod.metadata?.uid ?? "";
    await gone("the Job pod's VMI", () => vmiClient(admin).read(DEFAULT_VM_NAMESPACE, vmName(uid)));
    await gone("the Job pod's user-data Secret", () => core.readNamespacedSecret({ namespace: DEFAULT_VM_NAMESPACE, name: `${vmName(uid)}-cloud-init` }));
    await gone("the Job pod's node", () => core.readNode({ name: vmName(uid) }));
    const after = await core.readNamespacedPod({ namespace, name: pod.metadata?.name ?? "" });
    expect(after.status?.phase).toBe("Succeeded");
    await pollUntil("the finalizer to be removed", async () => ((await core.readNamespacedPod({ namespace, name: pod.metadata?.name ?? "" })).metadata?.finalizers ?? []).length === 0 ? true : undefined, { timeoutMs: 30_000 });
  });

  it("a pod deleted while gated and held by another finalizer gets no VM after its teardown, for a minute, and goes with that finalizer", async () => {
    const namespace = await namespaceWithServiceAccount(admin, "held");
    const hold = "example.com/hold";
    const created = await core.createNamespacedPod({ namespace, body: { ...maroonedPod("held"), metadata: { ...maroonedPod("held").metadata, finalizers: [hold] } } });
    const uid = created.metadata?.uid ?? "";
    // At once, while its VM is (at most) booting.
    await core.deleteNamespacedPod({ namespace, name: "held" });
    // Teardown is done when the cleanup finalizer is gone: from then on, nothing may be made for the pod.
    await pollUntil("the teardown", async () => {
      const current = await core.readNamespacedPod({ namespace, name: "held" });
      return current.metadata?.finalizers?.join() === hold ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    const launches = async () => (await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.uid=${uid},reason=${REASONS.VMCreated}` })).items.length;
    const launchedBefore = await launches();
    expect(launchedBefore).toBeLessThanOrEqual(1);
    const until = Date.now() + 60_000;
    while (Date.now() < until) {
      await expect(vmiClient(admin).read(DEFAULT_VM_NAMESPACE, vmName(uid)), "a VMI after teardown").rejects.toMatchObject({ code: 404 });
      expect(await tokensFor(uid)).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    expect(await launches()).toBe(launchedBefore);
    expect((await core.readNamespacedPod({ namespace, name: "held" })).metadata?.finalizers).toEqual([hold]);
    await core.patchNamespacedPod({ namespace, name: "held", body: { metadata: { finalizers: null } } }, mergePatch);
    await gone("the held pod", () => core.readNamespacedPod({ namespace, name: "held" }));
  }, 120_000);

  it("a released pod whose node goes NotReady stays on it, is told so, and its VM and node go when it is deleted", async () => {
    const namespace = await namespaceWithServiceAccount(admin, "notready");
    const uid = (await core.createNamespacedPod({ namespace, body: maroonedPod("stranded") })).metadata?.uid ?? "";
    await runningPod(admin, namespace, "stranded");
    // The guest crashes: the simulator fails the VMI and the node stops heartbeating.
    await admin.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject(
      { group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: DEFAULT_VM_NAMESPACE, name: vmName(uid), body: { metadata: { annotations: { [INJECT_FAILURE_ANNOTATION]: "kernel panic" } } } },
      mergePatch,
    );
    const told = await pollUntil("NodeReady False on the pod", async () => {
      const pod = await core.readNamespacedPod({ namespace, name: "stranded" });
      return pod.status?.conditions?.find((c) => c.type === POD_CONDITIONS.NodeReady && c.status === "False") ? pod : undefined;
    }, { timeoutMs: 90_000, intervalMs: 1_000 });
    expect(told.spec?.nodeName).toBe(vmName(uid));
    const warnings = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.uid=${uid},reason=${REASONS.NodeNotReady}` });
    // The node lifecycle controller says NodeNotReady on the pod too; ours is the controller's, once.
    expect(warnings.items.filter((e) => e.source?.component === "maroonedpods-controller").map((e) => e.type)).toEqual(["Warning"]);
    // Nothing launches a second VM for a released pod.
    expect((await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.uid=${uid},reason=${REASONS.VMCreated}` })).items).toHaveLength(1);

    await core.deleteNamespacedPod({ namespace, name: "stranded" });
    await gone("the stranded pod's VMI", () => vmiClient(admin).read(DEFAULT_VM_NAMESPACE, vmName(uid)));
    await gone("the stranded pod's node", () => core.readNode({ name: vmName(uid) }));
    // No kubelet is left to confirm the deletion: the pod object goes when forced.
    await core.deleteNamespacedPod({ namespace, name: "stranded", gracePeriodSeconds: 0 });
    await gone("the stranded pod", () => core.readNamespacedPod({ namespace, name: "stranded" }));
  }, 180_000);

  it("deleting a pod removes its VM, Secret, token and node, then the pod", async () => {
    const namespace = await namespaceWithServiceAccount(admin, "delete");
    const uid = (await core.createNamespacedPod({ namespace, body: maroonedPod("doomed") })).metadata?.uid ?? "";
    await runningPod(admin, namespace, "doomed");
    await core.deleteNamespacedPod({ namespace, name: "doomed" });
    await gone("the pod", () => core.readNamespacedPod({ namespace, name: "doomed" }));
    for (const [what, read] of [
      ["VMI", () => vmiClient(admin).read(DEFAULT_VM_NAMESPACE, vmName(uid))],
      ["user-data Secret", () => core.readNamespacedSecret({ namespace: DEFAULT_VM_NAMESPACE, name: `${vmName(uid)}-cloud-init` })],
      ["node", () => core.readNode({ name: vmName(uid) })],
    ] as const) {
      await expect(read(), what).rejects.toMatchObject({ code: 404 });
    }
    expect(await tokensFor(uid)).toEqual([]);
  });

  it("replaces a VMI that failed before its node was trusted", async () => {
    const namespace = await namespaceWithServiceAccount(admin, "fail");
    // The simulator fails the first VMI of this namespace while it boots, before any node joins.
    await core.createNamespacedConfigMap({
      namespace: FAULTS_CONFIGMAP.namespace,
      body: { metadata: { name: FAULTS_CONFIGMAP.name }, data: { [FAULTS_CONFIGMAP.key]: `${OWNED_LABELS.podNamespace}=${namespace}` } },
    });
    try {
      await core.createNamespacedPod({ namespace, body: maroonedPod("phoenix") });
      const pod = await runningPod(admin, namespace, "phoenix");
      expect(pod.status?.conditions?.find((c) => c.type === POD_CONDITIONS.VMAttempts)?.message).toBe("attempt 2 of 3");
      expect(pod.spec?.nodeName).toBe(vmName(pod.metadata?.uid ?? ""));
      const events = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=phoenix,reason=${REASONS.VMFailed}` });
      expect(events.items.map((e) => e.type)).toContain("Warning");
    } finally {
      await core.deleteNamespacedConfigMap({ namespace: FAULTS_CONFIGMAP.namespace, name: FAULTS_CONFIGMAP.name });
    }
  });

  it("never trusts a node that registers with the expected name but a foreign IP; its pod stays gated", async () => {
    const namespace = await namespaceWithServiceAccount(admin, "impostor");
    const uid = (await core.createNamespacedPod({ namespace, body: maroonedPod("victim") })).metadata?.uid ?? "";
    // An impostor takes the node name first, with the right labels and taint but an address that is not the VM's.
    await core.createNode({
      body: {
        metadata: { name: vmName(uid), labels: { [NODE_POD_UID_LABEL]: uid, "maroonedpods.io/vm": vmName(uid) } },
        spec: { taints: [{ key: "maroonedpods.io/dedicated", value: uid, effect: "NoSchedule" }] },
        status: { addresses: [{ type: "InternalIP", address: "192.0.2.66" }] },
      },
    });
    const pod = await pollUntil("NodeTrusted False", async () => {
      const current = await core.readNamespacedPod({ namespace, name: "victim" });
      const trusted = current.status?.conditions?.find((c) => c.type === POD_CONDITIONS.NodeTrusted);
      return trusted?.status === "False" && trusted.reason === REASONS.NodeVerificationFailed ? current : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(pod.spec?.schedulingGates).toEqual([{ name: SCHEDULING_GATE }]);
    expect(pod.status?.conditions?.find((c) => c.type === POD_CONDITIONS.NodeTrusted)?.message).toMatch(/192\.0\.2\.66 is not among the VM's addresses/);
    const node = await core.readNode({ name: vmName(uid) });
    expect(node.metadata?.labels?.[TRUSTED_NODE_LABEL]).toBeUndefined();
    const warnings = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=victim,reason=${REASONS.NodeVerificationFailed}` });
    expect(warnings.items.map((e) => e.type)).toContain("Warning");
    await core.deleteNamespacedPod({ namespace, name: "victim" });
    await gone("the impostor node (torn down with its pod)", () => core.readNode({ name: vmName(uid) }));
  });

  it("refuses a pod too big for the largest VM, with a Warning and a condition, and creates no VM", async () => {
    const namespace = await namespaceWithServiceAccount(admin, "huge");
    const body = maroonedPod("huge");
    body.spec = { ...body.spec, containers: [{ name: "main", image: "registry.example/app:1", resources: { requests: { cpu: "64", memory: "1Gi" } } }] };
    const uid = (await core.createNamespacedPod({ namespace, body })).metadata?.uid ?? "";
    const pod = await pollUntil("VMLaunched False", async () => {
      const current = await core.readNamespacedPod({ namespace, name: "huge" });
      return current.status?.conditions?.find((c) => c.type === POD_CONDITIONS.VMLaunched && c.reason === REASONS.VMSizeExceedsMaximum) ? current : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500 });
    expect(pod.spec?.schedulingGates).toEqual([{ name: SCHEDULING_GATE }]);
    await expect(vmiClient(admin).read(DEFAULT_VM_NAMESPACE, vmName(uid))).rejects.toMatchObject({ code: 404 });
  });

  it("applies a MaroonedPodsConfig change to new VMs without a restart, and reports it in status", async () => {
    const configs = admin.makeApiClient(CustomObjectsApi);
    const ref = { group: "maroonedpods.io", version: "v1alpha1", plural: "maroonedpodsconfigs" };
    type ConfigStatus = { metadata?: { generation?: number }; status?: { observedGeneration?: number; conditions?: { type: string; status: string; message?: string }[] } };
    const observed = (valid: "True" | "False") =>
      pollUntil(`config status Valid=${valid}`, async () => {
        const current = (await configs.getClusterCustomObject({ ...ref, name: "default" })) as ConfigStatus;
        const condition = current.status?.conditions?.find((c) => c.type === "Valid");
        return current.status?.observedGeneration === current.metadata?.generation && condition?.status === valid ? condition : undefined;
      }, { timeoutMs: 30_000, intervalMs: 300 });
    await configs.createClusterCustomObject({ ...ref, body: { apiVersion: "maroonedpods.io/v1alpha1", kind: "MaroonedPodsConfig", metadata: { name: "default" }, spec: { nodeImage: "registry.example/custom-node:2" } } });
    try {
      await observed("True");
      const namespace = await namespaceWithServiceAccount(admin, "config");
      const uid = (await core.createNamespacedPod({ namespace, body: maroonedPod("configured") })).metadata?.uid ?? "";
      const vmi = await pollUntil("the VMI", () => vmiClient(admin).read(DEFAULT_VM_NAMESPACE, vmName(uid)).catch(() => undefined), { timeoutMs: 30_000, intervalMs: 200 });
      expect(vmi.spec.volumes?.find((v) => v.containerDisk)?.containerDisk?.image).toBe("registry.example/custom-node:2");

      // Valid to the schema, invalid to the controller: it keeps the last good config and says why.
      await configs.patchClusterCustomObject({ ...ref, name: "default", body: { spec: { baseVMResources: { cpu: "64" } } } }, mergePatch);
      expect((await observed("False")).message).toMatch(/baseVMResources: must not exceed maxVMResources/);
    } finally {
      await configs.deleteClusterCustomObject({ ...ref, name: "default" });
    }
  });

  it("removes the VM, Secret and node of a pod that vanished without teardown (orphans)", async () => {
    const namespace = await namespaceWithServiceAccount(admin, "orphan");
    const uid = (await core.createNamespacedPod({ namespace, body: maroonedPod("lost") })).metadata?.uid ?? "";
    await runningPod(admin, namespace, "lost");
    // While the controller is down, an admin unbinds the policy that guards the finalizer, strips it and deletes the
    // pod: no teardown ran.
    await stack.controller.stop();
    await withoutPolicyBinding(admin, POLICY_NAMES.reservedMetadata, () =>
      pollUntil("the finalizer stripped", () => core.patchNamespacedPod({ namespace, name: "lost", body: { metadata: { finalizers: null } } }, mergePatch).catch(() => undefined), { timeoutMs: 30_000, intervalMs: 500 }));
    await core.deleteNamespacedPod({ namespace, name: "lost", gracePeriodSeconds: 0 });
    await gone("the pod", () => core.readNamespacedPod({ namespace, name: "lost" }));
    stack.controller = await startComponent("controller", stack.controllerArgs);
    await gone("the orphaned VMI", () => vmiClient(admin).read(DEFAULT_VM_NAMESPACE, vmName(uid)));
    await gone("the orphaned user-data Secret", () => core.readNamespacedSecret({ namespace: DEFAULT_VM_NAMESPACE, name: `${vmName(uid)}-cloud-init` }));
    await gone("the orphaned node", () => core.readNode({ name: vmName(uid) }));
    const metrics = await (await fetch(`http://127.0.0.1:${String(stack.controller.ready.opsPort)}/metrics`)).text();
    expect(metrics).toMatch(/maroonedpods_orphans_removed_total\{kind="VirtualMachineInstance"\} [1-9]/);
    expect(metrics).toMatch(/# TYPE maroonedpods_vms gauge/);
    expect(metrics).toMatch(/# TYPE maroonedpods_workqueue_depth gauge/);
  });
});
