import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Pod,
  type V1Toleration,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLEANUP_FINALIZER, DEFAULT_TAINT_KEY_PREFIX, MANAGED_LABEL, MAROONED_NODE_LABEL, NODE_NOT_READY_TAINT_KEY, SCHEDULING_GATE, TRUSTED_NODE_LABEL } from "../src/api/names.ts";
import { releasedSpec, releasePatch } from "../src/controller/ungate.ts";
import { apiMessageOf, statusCodeOf } from "../src/kube/errors.ts";
import { registerAdmission, unregisterAdmission, writeLoopbackServingCertificate } from "../src/devcluster/admission.ts";
import { freeLoopbackPort } from "../src/devcluster/ports.ts";
import { pollUntil } from "../src/util/poll.ts";
import { METRIC_NAMES } from "../src/api/metric-names.ts";
import { MUTATE_PODS_PATH } from "../webhook/handler.ts";
import { MUTATING_WEBHOOK_CONFIGURATION_NAME, POLICY_NAMES } from "../webhook/manifests.ts";
import { DEFAULT_ADMISSION_SETTINGS } from "../webhook/settings.ts";
import { adminKubeConfig, createNamespace, randomSuffix } from "./support/kube.ts";
import { serviceAccountClient } from "./support/identities.ts";
import { startComponent, type ComponentProcess } from "./support/stack.ts";

const settings = DEFAULT_ADMISSION_SETTINGS;
const dedicatedKey = "maroonedpods.io/dedicated";

interface Env {
  admin: KubeConfig;
  tenant: KubeConfig;
  controller: KubeConfig;
  namespace: string;
  webhookArgs: string[];
  webhook: ComponentProcess;
  register: () => Promise<void>;
  tmp: string;
}
let env: Env;

const podManifest = (overrides: { labels?: Record<string, string>; runtimeClassName?: string; tolerations?: V1Toleration[]; nodeName?: string; generateName?: boolean } = {}): V1Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    ...(overrides.generateName ? { generateName: "gen-" } : { name: `pod-${randomSuffix()}` }),
    labels: overrides.labels,
  },
  spec: {
    containers: [{ name: "main", image: "registry.example/app:1" }],
    runtimeClassName: overrides.runtimeClassName,
    tolerations: overrides.tolerations,
    nodeName: overrides.nodeName,
  },
});
const maroonLabel = { [settings.triggerLabel.key]: settings.triggerLabel.value };

const createPod = (as: KubeConfig, pod: V1Pod, namespace = env.namespace) => as.makeApiClient(CoreV1Api).createNamespacedPod({ namespace, body: pod });
async function failureOf(promise: Promise<unknown>): Promise<{ code: number | undefined; message: string }> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error === undefined) return { code: undefined, message: "request was allowed" };
  return { code: statusCodeOf(error), message: apiMessageOf(error) };
}

beforeAll(async () => {
  const admin = adminKubeConfig();
  const tmp = await mkdtemp(join(tmpdir(), "maroonedpods-admission-"));
  const tls = await writeLoopbackServingCertificate(tmp);
  const port = await freeLoopbackPort();
  const webhookArgs = [
    `--tls-cert-file=${tls.certFile}`, `--tls-key-file=${tls.keyFile}`,
    "--bind-address=127.0.0.1", `--port=${port}`, "--ops-bind-address=127.0.0.1", "--ops-port=0", "--log-level=warn",
  ];
  const webhook = await startComponent("webhook", webhookArgs);
  const register = () => registerAdmission(admin, settings, { url: `https://127.0.0.1:${port}${MUTATE_PODS_PATH}`, caPem: tls.caPem });
  await register();

  const namespace = await createNamespace(admin, "tenant");
  const tenant = await serviceAccountClient(admin, { namespace, name: "tenant" }, [
    { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "list", "update", "patch", "delete"] },
  ]);
  const { namespace: controllerNamespace, name: controllerName } = settings.controllerServiceAccount;
  const controller = await serviceAccountClient(admin, { namespace: controllerNamespace, name: controllerName }, [
    { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "list", "patch"] },
  ]);
  await pollUntil("the default ServiceAccount of the tenant namespace", async () => (await admin.makeApiClient(CoreV1Api).readNamespacedServiceAccount({ namespace, name: "default" })).metadata?.name, { timeoutMs: 30_000 });
  env = { admin, tenant, controller, namespace, webhookArgs, webhook, register, tmp };

  // Registrations and policies reach the API server's admission chain asynchronously.
  await pollUntil("the webhook to gate pods", async () => {
    const pod = await createPod(admin, { ...podManifest({ labels: maroonLabel }), metadata: { name: `probe-${randomSuffix()}`, labels: maroonLabel } });
    return pod.spec?.schedulingGates?.length ? true : undefined;
  }, { timeoutMs: 30_000 });
  await pollUntil("the policies to deny", async () => {
    const { code } = await failureOf(createPod(admin, podManifest({ tolerations: [{ operator: "Exists" }] })));
    return code === 403 ? true : undefined;
  }, { timeoutMs: 30_000 });
}, 120_000);

afterAll(async () => {
  await env.webhook.stop();
  await unregisterAdmission(env.admin);
  await rm(env.tmp, { recursive: true, force: true });
});

/** Read-modify-replace as `as`, retrying on conflicts (the scheduler writes status to gated pods too). */
async function updatePod(as: KubeConfig, name: string, mutate: (pod: V1Pod) => V1Pod): Promise<V1Pod> {
  const pods = as.makeApiClient(CoreV1Api);
  for (let attempt = 1; ; attempt++) {
    const current = await pods.readNamespacedPod({ namespace: env.namespace, name });
    try {
      return await pods.replaceNamespacedPod({ namespace: env.namespace, name, body: mutate(current) });
    } catch (error) {
      if (statusCodeOf(error) !== 409 || attempt >= 5) throw error;
    }
  }
}

function expectIsolated(pod: V1Pod): void {
  expect(pod.spec?.schedulingGates).toEqual([{ name: SCHEDULING_GATE }]);
  expect(pod.metadata?.finalizers).toContain(CLEANUP_FINALIZER);
  expect(pod.metadata?.labels?.[MANAGED_LABEL]).toBe("true");
}

describe("the mutating webhook, running as its own process", () => {
  it("gates a labeled pod and a RuntimeClass pod created by a tenant", async () => {
    expectIsolated(await createPod(env.tenant, podManifest({ labels: maroonLabel })));
    expectIsolated(await createPod(env.tenant, podManifest({ runtimeClassName: settings.runtimeClassName })));
  });

  it("gates every pod of a 3-replica Deployment (generateName pods)", async () => {
    const name = `web-${randomSuffix()}`;
    const labels = { app: name, ...maroonLabel };
    await env.admin.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: env.namespace,
      body: { metadata: { name }, spec: { replicas: 3, selector: { matchLabels: { app: name } }, template: { metadata: { labels }, spec: { containers: [{ name: "main", image: "registry.example/app:1" }] } } } },
    });
    const pods = await pollUntil("3 Deployment pods", async () => {
      const list = await env.admin.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: env.namespace, labelSelector: `app=${name}` });
      return list.items.length === 3 ? list.items : undefined;
    }, { timeoutMs: 60_000 });
    for (const pod of pods) {
      expect(pod.metadata?.generateName).toBeTruthy();
      expectIsolated(pod);
    }
  });

  it("is called once per selected pod, and not for a pod that arrives as it would make it", async () => {
    const calls = async () => {
      const text = await (await fetch(`http://127.0.0.1:${String(env.webhook.ready.opsPort)}/metrics`)).text();
      return [...text.matchAll(new RegExp(`^${METRIC_NAMES.webhookRequests}\\{[^}]*\\} (\\d+)$`, "gm"))].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    const before = await calls();
    // Its patch, then the RuntimeClass plugin's spec.overhead: without the match condition, a reinvocation.
    expectIsolated(await createPod(env.tenant, podManifest({ labels: maroonLabel })));
    expect(await calls()).toBe(before + 1);
    const isolated = podManifest({ labels: { ...maroonLabel, [MANAGED_LABEL]: "true" }, runtimeClassName: settings.runtimeClassName });
    isolated.metadata = { ...isolated.metadata, finalizers: [CLEANUP_FINALIZER] };
    isolated.spec = { ...isolated.spec, containers: isolated.spec?.containers ?? [], schedulingGates: [{ name: SCHEDULING_GATE }] };
    expectIsolated(await createPod(env.tenant, isolated));
    expect(await calls()).toBe(before + 1);
    // One piece missing (the finalizer): called, and the piece added.
    const almost = { ...isolated, metadata: { ...isolated.metadata, name: `pod-${randomSuffix()}`, finalizers: [] } };
    expectIsolated(await createPod(env.tenant, almost));
    expect(await calls()).toBe(before + 2);
  });

  it("leaves an unlabeled pod untouched", async () => {
    const pod = await createPod(env.tenant, podManifest({ labels: { app: "plain" } }));
    expect(pod.spec?.schedulingGates).toBeUndefined();
    expect(pod.metadata?.finalizers).toBeUndefined();
    expect(pod.metadata?.labels).toEqual({ app: "plain" });
  });

  it("while the webhook is down, admits unselected pods and rejects selected ones", async () => {
    await env.webhook.stop();
    try {
      const plain = await createPod(env.tenant, podManifest({ labels: { app: "plain" } }));
      expect(plain.metadata?.uid).toBeTruthy();
      const rejected = await failureOf(createPod(env.tenant, podManifest({ labels: maroonLabel })));
      expect(rejected.code).toBe(500);
      expect(rejected.message).toMatch(/failed calling webhook "pods\.maroonedpods\.io"/);
    } finally {
      env.webhook = await startComponent("webhook", env.webhookArgs);
    }
    expectIsolated(await pollUntil("the restarted webhook", () => createPod(env.tenant, podManifest({ labels: maroonLabel })).catch(() => undefined), { timeoutMs: 30_000 }));
  });
});

describe("the ValidatingAdmissionPolicies, against a tenant identity", () => {
  it("require the gate on a selected pod when the webhook is bypassed", async () => {
    const registration = env.admin.makeApiClient(AdmissionregistrationV1Api);
    await registration.deleteMutatingWebhookConfiguration({ name: MUTATING_WEBHOOK_CONFIGURATION_NAME });
    try {
      const rejected = await pollUntil("the policy to deny an ungated selected pod", async () => {
        const failure = await failureOf(createPod(env.tenant, podManifest({ labels: maroonLabel })));
        return failure.code === 403 ? failure : undefined;
      }, { timeoutMs: 30_000 });
      expect(rejected.message).toMatch(new RegExp(`${POLICY_NAMES.requireGate}.*scheduling gate ${SCHEDULING_GATE}`));
      // A pod that arrives fully gated (as the webhook would make it) is fine.
      const gated = podManifest({ labels: { ...maroonLabel, [MANAGED_LABEL]: "true" } });
      gated.metadata = { ...gated.metadata, finalizers: [CLEANUP_FINALIZER] };
      gated.spec = { ...gated.spec, containers: gated.spec?.containers ?? [], schedulingGates: [{ name: SCHEDULING_GATE }] };
      expectIsolated(await createPod(env.tenant, gated));
    } finally {
      await env.register();
    }
  });

  it("let only the controller release a gated pod, in one update", async () => {
    const pod = await createPod(env.tenant, podManifest({ labels: maroonLabel }));
    const name = pod.metadata?.name ?? "";
    const uid = pod.metadata?.uid ?? "";
    // The spec the controller's release produces, for the tenant to try.
    const released = (base: V1Pod): V1Pod => ({ ...base, spec: releasedSpec(base.spec, uid, DEFAULT_TAINT_KEY_PREFIX) });
    const withSpec = (change: Partial<NonNullable<V1Pod["spec"]>>) => (base: V1Pod): V1Pod => ({ ...base, spec: { ...base.spec, containers: base.spec?.containers ?? [], ...change } });
    const asTenant = (mutate: (pod: V1Pod) => V1Pod) => updatePod(env.tenant, name, mutate);

    expect((await failureOf(asTenant(withSpec({ schedulingGates: [] })))).message).toMatch(/only the MaroonedPods controller may remove the scheduling gate/);
    // An addition (the API server itself refuses any other change of a gated pod's nodeSelector).
    const addSelector = (base: V1Pod): V1Pod => withSpec({ nodeSelector: { ...base.spec?.nodeSelector, "kubernetes.io/hostname": "anywhere" } })(base);
    expect((await failureOf(asTenant(addSelector))).message).toMatch(
      /only the MaroonedPods controller may change spec\.nodeSelector/,
    );
    const dropManagedLabel = (base: V1Pod): V1Pod => ({ ...base, metadata: { ...base.metadata, labels: { ...maroonLabel } } });
    expect((await failureOf(asTenant(dropManagedLabel))).message).toMatch(/the label maroonedpods\.io\/managed cannot be added, changed or removed/);
    expect(await failureOf(asTenant(released))).toMatchObject({ code: 403 });

    // The controller's single update, as it sends it: one JSON patch (nodeSelector + tolerations + gate removal).
    const asController = env.controller.makeApiClient(CoreV1Api);
    const current = await asController.readNamespacedPod({ namespace: env.namespace, name });
    const updated = await asController.patchNamespacedPod(
      { namespace: env.namespace, name, body: releasePatch(current, uid, DEFAULT_TAINT_KEY_PREFIX, `marooned-${uid}`) },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
    expect(updated.spec?.schedulingGates ?? []).toEqual([]);
    // The marooned RuntimeClass's node selector, which the webhook's class brought, stays beside the trusted label.
    expect(updated.spec?.nodeSelector).toEqual({ [MAROONED_NODE_LABEL]: "true", [TRUSTED_NODE_LABEL]: uid });
    expect(updated.spec?.tolerations).toContainEqual({ key: dedicatedKey, operator: "Equal", value: uid, effect: "NoSchedule" });
    expect(updated.spec?.tolerations).toContainEqual({ key: NODE_NOT_READY_TAINT_KEY, operator: "Exists", effect: "NoSchedule" });

    // Later ordinary updates by the tenant keep working: the toleration was already there.
    const relabeled = await asTenant((base) => ({ ...base, metadata: { ...base.metadata, labels: { ...base.metadata?.labels, team: "blue" } } }));
    expect(relabeled.metadata?.labels?.team).toBe("blue");
  });

  it("deny tolerating the dedicated taint, or every taint, outside infrastructure namespaces", async () => {
    const ownUid = randomUUID();
    for (const toleration of [
      { key: dedicatedKey, operator: "Equal", value: ownUid, effect: "NoSchedule" },
      { key: dedicatedKey, operator: "Exists" },
      { operator: "Exists" },
      { key: "", operator: "Exists", effect: "NoSchedule" },
    ]) {
      const failure = await failureOf(createPod(env.tenant, podManifest({ tolerations: [toleration] })));
      expect(failure, JSON.stringify(toleration)).toMatchObject({ code: 403 });
      expect(failure.message).toMatch(/only the MaroonedPods controller may give a pod a toleration/);
    }
    const ordinary = await createPod(env.tenant, podManifest({ tolerations: [{ key: "example.com/gpu", operator: "Exists" }] }));
    expect(ordinary.metadata?.uid).toBeTruthy();
    const infra = await createPod(env.admin, podManifest({ tolerations: [{ operator: "Exists" }] }), "kube-system");
    expect(infra.metadata?.uid).toBeTruthy();
  });

  it("deny a pod whose nodeName names a marooned node, except from the controller", async () => {
    const nodeName = `${settings.nodeNamePrefix}${randomSuffix()}`;
    const failure = await failureOf(createPod(env.tenant, podManifest({ nodeName })));
    expect(failure.code).toBe(403);
    expect(failure.message).toMatch(/spec\.nodeName may not name a MaroonedPods node/);
    expect((await createPod(env.tenant, podManifest({ nodeName: `ordinary-${randomSuffix()}` }))).spec?.nodeName).toMatch(/^ordinary-/);
    expect((await createPod(env.controller, podManifest({ nodeName }))).spec?.nodeName).toBe(nodeName);
  });
});
