// Attacks a tenant with nothing but the `edit` role in its own namespace could try, each performed as that tenant's
// ServiceAccount against the webhook, the policies and the controller on the real API server.
import { CoreV1Api, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWNED_LABELS, POD_CONDITIONS, REASONS } from "../src/api/conditions.ts";
import { CLEANUP_FINALIZER, DEFAULT_VM_NAMESPACE, MANAGED_LABEL, MAROON_LABEL } from "../src/api/names.ts";
import { applyObjects } from "../src/kube/apply.ts";
import { apiMessageOf, isNotFound, statusCodeOf } from "../src/kube/errors.ts";
import { serviceAccountKubeConfig } from "../src/devcluster/service-account.ts";
import { pollUntil } from "../src/util/poll.ts";
import { POLICY_NAMES } from "../webhook/manifests.ts";
import { DEFAULT_ADMISSION_SETTINGS } from "../webhook/settings.ts";
import { adminKubeConfig, createNamespace, vmiClient } from "./support/kube.ts";
import { withoutPolicyBinding } from "./support/policies.ts";
import { startComponent, startStack, type Stack } from "./support/stack.ts";

let admin: KubeConfig;
let core: CoreV1Api;
let stack: Stack;
/** The victim: another namespace's marooned pod, running on its own VM node. */
const victim = { namespace: "", uid: "", vm: "" };
/** The attacker: a ServiceAccount bound to `edit` in its own namespace only. */
const tenant = { namespace: "", kubeConfig: undefined as unknown as KubeConfig };
const vmName = (uid: string) => `marooned-${uid}`;
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);

const pod = (name: string, metadata: Partial<NonNullable<V1Pod["metadata"]>> = {}, spec: Partial<NonNullable<V1Pod["spec"]>> = {}): V1Pod => ({
  metadata: { name, labels: { [MAROON_LABEL]: "true" }, ...metadata },
  spec: { containers: [{ name: "main", image: "registry.example/app:1" }], ...spec },
});

async function namespaceReady(namespace: string): Promise<void> {
  await pollUntil(`default ServiceAccount in ${namespace}`, async () => (await core.readNamespacedServiceAccount({ namespace, name: "default" })).metadata?.name, { timeoutMs: 30_000 });
}

async function runningPod(namespace: string, name: string): Promise<V1Pod> {
  return pollUntil(`pod ${namespace}/${name} Running`, async () => {
    const current = await core.readNamespacedPod({ namespace, name });
    return current.status?.phase === "Running" ? current : undefined;
  }, { timeoutMs: 90_000, intervalMs: 500 });
}

/** A ServiceAccount in a fresh namespace, bound to the built-in `edit` ClusterRole in that namespace alone. */
async function editTenant(prefix: string): Promise<{ namespace: string; kubeConfig: KubeConfig }> {
  const namespace = await createNamespace(admin, prefix);
  await namespaceReady(namespace);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: "mallory" } } });
  await admin.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: "mallory-edit" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
      subjects: [{ kind: "ServiceAccount", name: "mallory", namespace }],
    },
  });
  return { namespace, kubeConfig: await serviceAccountKubeConfig(admin, { namespace, name: "mallory" }, 3600) };
}

/** The API server's refusal of a write, with its message; fails the test if the write went through. */
async function refused(write: () => Promise<unknown>): Promise<{ code: number | undefined; message: string }> {
  try {
    await write();
  } catch (error) {
    return { code: statusCodeOf(error), message: apiMessageOf(error) };
  }
  throw new Error("the write was accepted");
}

async function victimIntact(): Promise<void> {
  const node = await core.readNode({ name: victim.vm });
  expect(node.metadata?.labels?.[OWNED_LABELS.podUid]).toBe(victim.uid);
  const vmi = await vmiClient(admin).read(DEFAULT_VM_NAMESPACE, victim.vm);
  expect(vmi.metadata?.labels?.[OWNED_LABELS.podUid]).toBe(victim.uid);
  expect((await core.readNamespacedPod({ namespace: victim.namespace, name: "victim" })).status?.phase).toBe("Running");
}

const tenantCore = () => tenant.kubeConfig.makeApiClient(CoreV1Api);

beforeAll(async () => {
  admin = adminKubeConfig();
  core = admin.makeApiClient(CoreV1Api);
  stack = await startStack(admin, ["--leader-elect=false", "--orphan-sweep-interval=2s"]);
  victim.namespace = await createNamespace(admin, "victim");
  await namespaceReady(victim.namespace);
  victim.uid = (await core.createNamespacedPod({ namespace: victim.namespace, body: pod("victim") })).metadata?.uid ?? "";
  victim.vm = vmName(victim.uid);
  await runningPod(victim.namespace, "victim");
  Object.assign(tenant, await editTenant("mallory"));
}, 180_000);

afterAll(async () => {
  await stack.stop();
});

describe("a tenant with the edit role", () => {
  it("cannot name another pod's VM through an annotation, at create or after (so cannot make the controller tear it down)", async () => {
    const annotations = { "maroonedpods.io/vm": victim.vm };
    const atCreate = await refused(() => tenantCore().createNamespacedPod({ namespace: tenant.namespace, body: pod("thief", { annotations }) }));
    expect(atCreate.code).toBe(403);
    expect(atCreate.message).toContain(POLICY_NAMES.reservedMetadata);

    await tenantCore().createNamespacedPod({ namespace: tenant.namespace, body: pod("own") });
    await runningPod(tenant.namespace, "own");
    const later = await refused(() => tenantCore().patchNamespacedPod({ namespace: tenant.namespace, name: "own", body: { metadata: { annotations } } }, mergePatch));
    expect(later.code).toBe(403);
    await tenantCore().deleteNamespacedPod({ namespace: tenant.namespace, name: "own" });
    await pollUntil("the tenant's pod gone", async () => core.readNamespacedPod({ namespace: tenant.namespace, name: "own" }).then(() => undefined, (e: unknown) => (isNotFound(e) ? true : undefined)), { timeoutMs: 60_000 });
    await victimIntact();
  });

  it("cannot point its VM at a shared worker's node name", async () => {
    const worker = "shared-worker-1";
    const denied = await refused(() => tenantCore().createNamespacedPod({ namespace: tenant.namespace, body: pod("impostor", { annotations: { "maroonedpods.io/vm": worker } }) }));
    expect(denied.code).toBe(403);
    const tokens = await core.listNamespacedSecret({ namespace: "kube-system", labelSelector: `${OWNED_LABELS.component}=maroonedpods-controller` });
    expect(tokens.items.map((t) => t.stringData?.description ?? Buffer.from(t.data?.description ?? "", "base64").toString())).not.toContainEqual(expect.stringContaining("impostor"));
  });

  it("cannot rewrite the attempt count: annotations are refused and the pod's status is out of reach", async () => {
    await tenantCore().createNamespacedPod({ namespace: tenant.namespace, body: pod("counted") });
    const running = await runningPod(tenant.namespace, "counted");
    const attempts = running.status?.conditions?.find((c) => c.type === POD_CONDITIONS.VMAttempts);
    expect(attempts?.message).toBe("attempt 1 of 3");

    const annotate = await refused(() => tenantCore().patchNamespacedPod({ namespace: tenant.namespace, name: "counted", body: { metadata: { annotations: { "maroonedpods.io/vm-attempts": "99999999999" } } } }, mergePatch));
    expect(annotate.code).toBe(403);
    const status = await refused(() => tenantCore().patchNamespacedPodStatus({
      namespace: tenant.namespace, name: "counted", body: { status: { conditions: [{ ...attempts, message: "attempt 0 of 3" }] } },
    }, setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch)));
    expect(status.code).toBe(403);
    const after = await core.readNamespacedPod({ namespace: tenant.namespace, name: "counted" });
    expect(after.status?.conditions?.find((c) => c.type === POD_CONDITIONS.VMAttempts)?.message).toBe("attempt 1 of 3");
  });

  it.each<[string, V1Pod]>([
    ["an unselected pod with the managed label", { metadata: { name: "fake-managed", labels: { [MANAGED_LABEL]: "true" } }, spec: { containers: [{ name: "main", image: "registry.example/app:1" }] } }],
    ["an unselected pod with the cleanup finalizer", { metadata: { name: "fake-finalizer", finalizers: [CLEANUP_FINALIZER] }, spec: { containers: [{ name: "main", image: "registry.example/app:1" }] } }],
    ["a selected pod with the controller's node annotation", pod("fake-record", { annotations: { "maroonedpods.io/node": victim.vm } })],
  ])("cannot create %s", async (_, body) => {
    const denied = await refused(() => tenantCore().createNamespacedPod({ namespace: tenant.namespace, body }));
    expect(denied.code).toBe(403);
    expect(denied.message).toContain(POLICY_NAMES.reservedMetadata);
  });

  it("cannot add, change or remove the selection and managed labels or the cleanup finalizer after create", async () => {
    await tenantCore().createNamespacedPod({ namespace: tenant.namespace, body: pod("locked") });
    await tenantCore().createNamespacedPod({ namespace: tenant.namespace, body: { metadata: { name: "plain" }, spec: { containers: [{ name: "main", image: "registry.example/app:1" }] } } });
    const locked = await runningPod(tenant.namespace, "locked");
    const finalizerIndex = (locked.metadata?.finalizers ?? []).indexOf(CLEANUP_FINALIZER);
    const attempts: [string, string, object][] = [
      ["locked", "remove the selection label", { metadata: { labels: { [MAROON_LABEL]: null } } }],
      ["locked", "change the managed label", { metadata: { labels: { [MANAGED_LABEL]: "false" } } }],
      ["locked", "remove the managed label", { metadata: { labels: { [MANAGED_LABEL]: null } } }],
      ["plain", "add the selection label", { metadata: { labels: { [MAROON_LABEL]: "true" } } }],
      ["plain", "add the managed label", { metadata: { labels: { [MANAGED_LABEL]: "true" } } }],
      ["plain", "add the cleanup finalizer", { metadata: { finalizers: [CLEANUP_FINALIZER] } }],
    ];
    for (const [name, what, body] of attempts) {
      const denied = await refused(() => tenantCore().patchNamespacedPod({ namespace: tenant.namespace, name, body }, mergePatch));
      expect(denied.code, what).toBe(403);
    }
    const removeFinalizer = await refused(() => tenantCore().patchNamespacedPod({
      namespace: tenant.namespace, name: "locked", body: [{ op: "remove", path: `/metadata/finalizers/${finalizerIndex}` }],
    }, jsonPatch));
    expect(removeFinalizer.code).toBe(403);
    // An ordinary label still goes through.
    await tenantCore().patchNamespacedPod({ namespace: tenant.namespace, name: "locked", body: { metadata: { labels: { team: "blue" } } } }, mergePatch);
  });
});

describe("the controller, when a tenant's write got past admission", () => {
  it("finds nothing through the pod's annotations: deleting a pod that names another pod's VM leaves that VM alone", async () => {
    // As if the reserved-metadata policy were missing: the controller must not rely on it.
    await withoutPolicyBinding(admin, POLICY_NAMES.reservedMetadata, async () => {
      const body = pod("bypass", { annotations: { "maroonedpods.io/vm": victim.vm, "maroonedpods.io/vm-attempts": "99999999999" } });
      const created = await pollUntil("the pod created without the policy", async () => tenantCore().createNamespacedPod({ namespace: tenant.namespace, body }).catch(() => undefined), { timeoutMs: 30_000, intervalMs: 500 });
      const uid = created.metadata?.uid ?? "";
      const running = await runningPod(tenant.namespace, "bypass");
      expect(running.spec?.nodeName).toBe(vmName(uid));
      expect(running.status?.conditions?.find((c) => c.type === POD_CONDITIONS.VMAttempts)?.message).toBe("attempt 1 of 3");
      await tenantCore().deleteNamespacedPod({ namespace: tenant.namespace, name: "bypass" });
      await pollUntil("the bypass pod gone", async () => core.readNamespacedPod({ namespace: tenant.namespace, name: "bypass" }).then(() => undefined, (e: unknown) => (isNotFound(e) ? true : undefined)), { timeoutMs: 60_000 });
      await victimIntact();
    });
  });

  it("never makes a VM or a token under a name an existing node holds, and launches once the name is free", async () => {
    await stack.controller.stop();
    const body = { metadata: { name: "squatted", labels: { [MAROON_LABEL]: "true" } }, spec: { containers: [{ name: "main", image: "registry.example/app:1" }] } };
    const uid = (await tenantCore().createNamespacedPod({ namespace: tenant.namespace, body })).metadata?.uid ?? "";
    // A node under that name that the pod's VM never registered (an admin's typo, a leftover of another cluster).
    await core.createNode({ body: { metadata: { name: vmName(uid), labels: { "kubernetes.io/hostname": vmName(uid) } } } });
    stack.controller = await startComponent("controller", stack.controllerArgs);
    try {
      const refusedPod = await pollUntil("the launch refused", async () => {
        const current = await core.readNamespacedPod({ namespace: tenant.namespace, name: "squatted" });
        return current.status?.conditions?.find((c) => c.type === POD_CONDITIONS.VMLaunched && c.reason === REASONS.NodeNameInUse) ? current : undefined;
      }, { timeoutMs: 30_000, intervalMs: 500 });
      expect(refusedPod.spec?.schedulingGates?.length).toBe(1);
      expect((await core.listNamespacedSecret({ namespace: "kube-system", labelSelector: `${OWNED_LABELS.podUid}=${uid}` })).items).toEqual([]);
      await expect(vmiClient(admin).read(DEFAULT_VM_NAMESPACE, vmName(uid))).rejects.toMatchObject({ code: 404 });
      const events = await core.listNamespacedEvent({ namespace: tenant.namespace, fieldSelector: `involvedObject.name=squatted,reason=${REASONS.NodeNameInUse}` });
      expect(events.items.map((e) => e.type)).toEqual(["Warning"]);
    } finally {
      await core.deleteNode({ name: vmName(uid) });
    }
    const landed = await runningPod(tenant.namespace, "squatted");
    expect(landed.spec?.nodeName).toBe(vmName(uid));
  }, 180_000);
});

describe("quota sees the VM", () => {
  const requests = { cpu: "500m", memory: "512Mi" };
  const sized = (name: string, metadata: Partial<NonNullable<V1Pod["metadata"]>>, spec: Partial<NonNullable<V1Pod["spec"]>> = {}): V1Pod => ({
    metadata: { name, ...metadata },
    spec: { containers: [{ name: "main", image: "registry.example/app:1", resources: { requests } }], ...spec },
  });

  it("charges a label-selected and a RuntimeClass-selected pod their VM (less the fixed guest reserve), and refuses one over the quota", async () => {
    const quotaTenant = await editTenant("quota");
    const namespace = quotaTenant.namespace;
    const api = quotaTenant.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedResourceQuota({ namespace, body: { metadata: { name: "vms" }, spec: { hard: { "requests.cpu": "3", "requests.memory": "3Gi" } } } });
    // Quota admission refuses every pod until the quota controller has computed the quota's status.
    await pollUntil("the quota's status", async () => ((await core.readNamespacedResourceQuota({ namespace, name: "vms" })).status?.hard ? true : undefined), { timeoutMs: 30_000, intervalMs: 250 });

    const labeled = await api.createNamespacedPod({ namespace, body: sized("labeled", { labels: { [MAROON_LABEL]: "true" } }) });
    expect(labeled.spec?.runtimeClassName).toBe(DEFAULT_ADMISSION_SETTINGS.runtimeClassName);
    expect(labeled.spec?.overhead).toEqual({ cpu: "1", memory: "1Gi" });
    const byClass = await api.createNamespacedPod({ namespace, body: sized("by-class", {}, { runtimeClassName: DEFAULT_ADMISSION_SETTINGS.runtimeClassName }) });
    expect(byClass.spec?.overhead).toEqual({ cpu: "1", memory: "1Gi" });
    const used = await pollUntil("the quota to count both pods", async () => {
      const quota = await core.readNamespacedResourceQuota({ namespace, name: "vms" });
      return quota.status?.used?.["requests.cpu"] === "3" ? quota.status.used : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    expect(used["requests.memory"]).toBe("3Gi");

    for (const created of [labeled, byClass]) {
      await runningPod(namespace, created.metadata?.name ?? "");
      const vmi = await vmiClient(admin).read(DEFAULT_VM_NAMESPACE, vmName(created.metadata?.uid ?? ""));
      // Each VM is its pod's charge (requests plus the RuntimeClass overhead) and the fixed guest reserve (256Mi).
      expect(vmi.spec.domain.resources?.requests).toEqual({ cpu: "1500m", memory: "1792Mi" });
    }
    const over = await refused(() => api.createNamespacedPod({ namespace, body: sized("one-too-many", { labels: { [MAROON_LABEL]: "true" } }) }));
    expect(over.code).toBe(403);
    expect(over.message).toContain("exceeded quota");
  });

  it("refuses a labeled pod that names another RuntimeClass, saying why", async () => {
    await applyObjects(admin, [{ apiVersion: "node.k8s.io/v1", kind: "RuntimeClass", metadata: { name: "plain-runc" }, handler: "runc" }], "maroonedpods-test");
    const denied = await pollUntil("the webhook's answer", async () => {
      const result = await refused(() => tenantCore().createNamespacedPod({ namespace: tenant.namespace, body: sized("other-class", { labels: { [MAROON_LABEL]: "true" } }, { runtimeClassName: "plain-runc" }) }));
      return result.message.includes("not found") ? undefined : result;
    }, { timeoutMs: 30_000, intervalMs: 500 });
    expect(denied.code).toBe(403);
    expect(denied.message).toContain(`runs with RuntimeClass ${DEFAULT_ADMISSION_SETTINGS.runtimeClassName}`);
  });
});
