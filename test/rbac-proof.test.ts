/**
 * Least privilege, proven by use: the deployed RBAC (as `maroonedpods install`
 * applies it) lets the controller, running as its ServiceAccount with a
 * TokenRequest token, carry a pod through the whole flow; and without any one
 * verb of any rule, a named step of that flow fails. A verb no step needs
 * would show up here as a case where nothing failed, and must go.
 */
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdmissionregistrationV1Api, AuthorizationV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, type V1Secret } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MANAGED_BY, OWNED_LABELS } from "../src/api/conditions.ts";
import { CONTROLLER_LEASE_NAME, DEFAULT_CONTROLLER_SERVICE_ACCOUNT, DEFAULT_SYSTEM_NAMESPACE, DEFAULT_VM_NAMESPACE, NODE_POD_UID_LABEL, WEBHOOK_CA_SECRET, WEBHOOK_TLS_SECRET } from "../src/api/names.ts";
import { CONFIG_GROUP, CONFIG_NAME, CONFIG_PLURAL, CONFIG_VERSION } from "../src/controller/config.ts";
import { freeLoopbackPort } from "../src/devcluster/ports.ts";
import { serviceAccountKubeConfig } from "../src/devcluster/service-account.ts";
import { installObjects, type KubeObject } from "../src/install/bundle.ts";
import { install, INSTALL_FIELD_MANAGER } from "../src/install/install.ts";
import type { PolicyRule } from "../src/install/rbac.ts";
import { applyObjects } from "../src/kube/apply.ts";
import { isNotFound } from "../src/kube/errors.ts";
import { FAULTS_CONFIGMAP } from "../src/simulator/constants.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../src/kubevirt/api.ts";
import { pollUntil } from "../src/util/poll.ts";
import { MUTATE_PODS_PATH } from "../webhook/handler.ts";
import { MUTATING_WEBHOOK_CONFIGURATION_NAME } from "../webhook/manifests.ts";
import { startOwnCluster, type OwnCluster } from "./support/own-cluster.ts";
import { PROOF_NAMESPACE_LABEL, proofSteps } from "./support/proof-flow.ts";
import { startComponent, type ComponentProcess } from "./support/stack.ts";

const CONTROLLER_STARTS = "controller starts";
const STEP_TIMEOUT_MS = 30_000;
/** How long the step a case expects to fail gets to succeed anyway. */
const EXPECTED_FAILURE_TIMEOUT_MS = 8_000;
const IDENTITY = "rbac-proof";
const USER = `system:serviceaccount:${DEFAULT_SYSTEM_NAMESPACE}:${DEFAULT_CONTROLLER_SERVICE_ACCOUNT}`;

/** Which step fails without each verb. Keys: `<Role|ClusterRole> <name> <group>/<resource>[:<resourceName>] <verb>`. */
const EXPECTED: Readonly<Record<string, string>> = {
  "ClusterRole maroonedpods-controller /pods list": CONTROLLER_STARTS,
  "ClusterRole maroonedpods-controller /pods watch": "VMI created",
  "ClusterRole maroonedpods-controller /pods patch": "pod released",
  "ClusterRole maroonedpods-controller /pods/status patch": "failed first VM replaced",
  "ClusterRole maroonedpods-controller /events create": "event recorded",
  "ClusterRole maroonedpods-controller /nodes list": CONTROLLER_STARTS,
  "ClusterRole maroonedpods-controller /nodes watch": "node trusted",
  "ClusterRole maroonedpods-controller /nodes patch": "node trusted",
  "ClusterRole maroonedpods-controller /nodes delete": "torn down",
  "ClusterRole maroonedpods-controller maroonedpods.io/maroonedpodsconfigs list": CONTROLLER_STARTS,
  "ClusterRole maroonedpods-controller maroonedpods.io/maroonedpodsconfigs watch": "config change seen",
  "ClusterRole maroonedpods-controller maroonedpods.io/maroonedpodsconfigs/status patch": "config accepted",
  "Role maroonedpods-controller-tokens /secrets create": "VMI created",
  "Role maroonedpods-controller-tokens /secrets list": CONTROLLER_STARTS,
  "Role maroonedpods-controller-tokens /secrets watch": "bootstrap token deleted",
  "Role maroonedpods-controller-tokens /secrets delete": "failed first VM replaced",
  "Role maroonedpods-controller-vms /secrets create": "VMI created",
  "Role maroonedpods-controller-vms /secrets list": CONTROLLER_STARTS,
  "Role maroonedpods-controller-vms /secrets watch": "node trusted",
  "Role maroonedpods-controller-vms /secrets delete": "failed first VM replaced",
  "Role maroonedpods-controller-vms kubevirt.io/virtualmachineinstances create": "VMI created",
  "Role maroonedpods-controller-vms kubevirt.io/virtualmachineinstances list": CONTROLLER_STARTS,
  "Role maroonedpods-controller-vms kubevirt.io/virtualmachineinstances watch": "failed first VM replaced",
  "Role maroonedpods-controller-vms kubevirt.io/virtualmachineinstances delete": "failed first VM replaced",
  "Role maroonedpods-controller-vms kubevirt.io/virtualmachineinstances patch": "warm pool VM claimed",
  "Role maroonedpods-controller coordination.k8s.io/leases create": "leader lease held and renewed",
  "Role maroonedpods-controller coordination.k8s.io/leases:maroonedpods-controller get": "leader lease held and renewed",
  "Role maroonedpods-controller coordination.k8s.io/leases:maroonedpods-controller update": "leader lease held and renewed",
  "Role maroonedpods-controller /configmaps:kube-root-ca.crt get": "VMI created",
  "Role maroonedpods-controller-webhook-certificates /secrets create": "deleted certificate recreated",
  "Role maroonedpods-controller-webhook-certificates /secrets:maroonedpods-webhook-ca get": "deleted certificate recreated",
  "Role maroonedpods-controller-webhook-certificates /secrets:maroonedpods-webhook-ca update": "broken CA replaced and trusted",
  "ClusterRole maroonedpods-controller-webhook-certificates admissionregistration.k8s.io/mutatingwebhookconfigurations:maroonedpods-webhook get": "deleted certificate recreated",
  "ClusterRole maroonedpods-controller-webhook-certificates admissionregistration.k8s.io/mutatingwebhookconfigurations:maroonedpods-webhook patch": "broken CA replaced and trusted",
};

interface Case {
  readonly key: string;
  /** The role with the one verb removed. */
  readonly reduced: KubeObject;
  readonly original: KubeObject;
  readonly access: { verb: string; group: string; resource: string; subresource?: string; name?: string; namespace?: string };
}

/** One case per verb of every rule of every Role and ClusterRole install gives the controller. */
function cases(): Case[] {
  const roles = installObjects("self-managed").filter((o) => o.kind === "Role" || o.kind === "ClusterRole");
  return roles.flatMap((role) => {
    const metadata = role.metadata as { name: string; namespace?: string };
    const rules = role.rules as PolicyRule[];
    return rules.flatMap((rule, index) =>
      rule.verbs.map((verb) => {
        const [resource = "", subresource] = (rule.resources[0] ?? "").split("/");
        const name = rule.resourceNames?.[0];
        const reducedRules = rules.map((r, i) => (i === index ? { ...r, verbs: r.verbs.filter((v) => v !== verb) } : r)).filter((r) => r.verbs.length > 0);
        return {
          // A rule with several resource names needs each; the first stands for them (the others are dropped with it).
          key: `${String(role.kind)} ${metadata.name} ${rule.apiGroups[0] ?? ""}/${rule.resources[0] ?? ""}${name ? `:${name}` : ""} ${verb}`,
          reduced: { ...role, rules: reducedRules },
          original: role,
          access: { verb, group: rule.apiGroups[0] ?? "", resource, subresource, name, namespace: metadata.namespace },
        };
      }),
    );
  });
}

let cluster: OwnCluster;
let dir: string;
let controllerKubeconfig: string;
let webhook: ComponentProcess | undefined;
let kubelet: NodeJS.Timeout | undefined;
const goodCertificates = new Map<string, V1Secret>();
let goodCaBundle = "";
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);

async function allowed(access: Case["access"]): Promise<boolean> {
  const review = await cluster.admin.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
    body: { spec: { user: USER, groups: ["system:serviceaccounts", `system:serviceaccounts:${DEFAULT_SYSTEM_NAMESPACE}`, "system:authenticated"], resourceAttributes: access } },
  });
  return review.status?.allowed === true;
}

async function ignoreMissing(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** The controller as a process, as its ServiceAccount; rejects (and stops it) if it is not ready in time. */
function startController(readyTimeoutMs: number): Promise<ComponentProcess> {
  return startComponent("controller", [
    `--kubeconfig=${controllerKubeconfig}`, `--identity=${IDENTITY}`, "--ops-bind-address=127.0.0.1", "--ops-port=0", "--log-level=error",
    "--manage-webhook-certificate=true", "--webhook-cert-ip-sans=127.0.0.1", "--webhook-cert-check-interval=1s", "--orphan-sweep-interval=1h",
  ], { readyTimeoutMs });
}

let runs = 0;

/** A fresh namespace whose first VM the simulator fails while it boots, so every run also proves a replacement. */
async function flowNamespace(): Promise<string> {
  const core = cluster.admin.makeApiClient(CoreV1Api);
  const namespace = `proof-${String(++runs)}`;
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { [PROOF_NAMESPACE_LABEL]: "true" } } } });
  await pollUntil(`the ServiceAccount of ${namespace}`, async () => (await core.readNamespacedServiceAccount({ namespace, name: "default" })).metadata?.name, { timeoutMs: 30_000 });
  const plan = { metadata: { name: FAULTS_CONFIGMAP.name, namespace: FAULTS_CONFIGMAP.namespace }, data: { [FAULTS_CONFIGMAP.key]: `${OWNED_LABELS.podNamespace}=${namespace}` } };
  await ignoreMissing(() => core.deleteNamespacedConfigMap({ namespace: FAULTS_CONFIGMAP.namespace, name: FAULTS_CONFIGMAP.name }));
  await core.createNamespacedConfigMap({ namespace: FAULTS_CONFIGMAP.namespace, body: plan });
  return namespace;
}

/** Runs the flow; resolves with the first step that failed, or undefined when all passed. */
async function runFlow(expectedFailure: string | undefined): Promise<string | undefined> {
  const timeoutFor = (step: string) => (step === expectedFailure ? EXPECTED_FAILURE_TIMEOUT_MS : STEP_TIMEOUT_MS);
  const namespace = await flowNamespace();
  let controller: ComponentProcess;
  try {
    controller = await startController(timeoutFor(CONTROLLER_STARTS));
  } catch {
    return CONTROLLER_STARTS;
  }
  try {
    for (const step of proofSteps(cluster.admin, IDENTITY, namespace)) {
      try {
        await step.run(timeoutFor(step.name));
      } catch {
        return step.name;
      }
    }
    return undefined;
  } finally {
    await controller.stop();
  }
}

/** Back to the state after the first full run: no workload, no lease, a fresh config, the good certificates. */
async function resetCluster(): Promise<void> {
  const core = cluster.admin.makeApiClient(CoreV1Api);
  const custom = cluster.admin.makeApiClient(CustomObjectsApi);
  const proofPods = async () => {
    const namespaces = await core.listNamespace({ labelSelector: PROOF_NAMESPACE_LABEL });
    return (await Promise.all(namespaces.items.map(async (n) => (await core.listNamespacedPod({ namespace: n.metadata?.name ?? "" })).items))).flat();
  };
  // The cleanup finalizer is the controller's alone (the reserved-metadata policy): strip it with its identity.
  const asController = new KubeConfig();
  asController.loadFromFile(controllerKubeconfig);
  for (const pod of await proofPods()) {
    const namespace = pod.metadata?.namespace ?? "";
    const name = pod.metadata?.name ?? "";
    await ignoreMissing(() => asController.makeApiClient(CoreV1Api).patchNamespacedPod({ namespace, name, body: { metadata: { finalizers: null } } }, mergePatch));
    await ignoreMissing(() => core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 }));
  }
  const owned = `${OWNED_LABELS.component}=${MANAGED_BY}`;
  const vmis = (await custom.listNamespacedCustomObject({ group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: DEFAULT_VM_NAMESPACE })) as { items: { metadata: { name: string } }[] };
  for (const vmi of vmis.items) await ignoreMissing(() => custom.deleteNamespacedCustomObject({ group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace: DEFAULT_VM_NAMESPACE, name: vmi.metadata.name }));
  for (const namespace of [DEFAULT_VM_NAMESPACE, "kube-system"]) {
    for (const secret of (await core.listNamespacedSecret({ namespace, labelSelector: owned })).items) await ignoreMissing(() => core.deleteNamespacedSecret({ namespace, name: secret.metadata?.name ?? "" }));
  }
  for (const node of (await core.listNode({ labelSelector: NODE_POD_UID_LABEL })).items) await ignoreMissing(() => core.deleteNode({ name: node.metadata?.name ?? "" }));
  await ignoreMissing(() => cluster.admin.makeApiClient(CoordinationV1Api).deleteNamespacedLease({ namespace: DEFAULT_SYSTEM_NAMESPACE, name: CONTROLLER_LEASE_NAME }));
  const configRef = { group: CONFIG_GROUP, version: CONFIG_VERSION, plural: CONFIG_PLURAL };
  await ignoreMissing(() => custom.deleteClusterCustomObject({ ...configRef, name: CONFIG_NAME }));
  await pollUntil("the old config to be gone", async () => {
    try {
      await custom.getClusterCustomObject({ ...configRef, name: CONFIG_NAME });
      return undefined;
    } catch (error) {
      return isNotFound(error) ? true : undefined;
    }
  }, { timeoutMs: 10_000 });
  await custom.createClusterCustomObject({ ...configRef, body: { apiVersion: `${CONFIG_GROUP}/${CONFIG_VERSION}`, kind: "MaroonedPodsConfig", metadata: { name: CONFIG_NAME }, spec: {} } });
  for (const [name, good] of goodCertificates) {
    const body = { metadata: { name, namespace: DEFAULT_SYSTEM_NAMESPACE, labels: good.metadata?.labels }, type: good.type, data: good.data };
    try {
      const current = await core.readNamespacedSecret({ namespace: DEFAULT_SYSTEM_NAMESPACE, name });
      await core.replaceNamespacedSecret({ namespace: DEFAULT_SYSTEM_NAMESPACE, name, body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion } } });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await core.createNamespacedSecret({ namespace: DEFAULT_SYSTEM_NAMESPACE, body });
    }
  }
  if (goodCaBundle) {
    await cluster.admin.makeApiClient(AdmissionregistrationV1Api).patchMutatingWebhookConfiguration(
      { name: MUTATING_WEBHOOK_CONFIGURATION_NAME, body: [{ op: "replace", path: "/webhooks/0/clientConfig/caBundle", value: goodCaBundle }] },
      jsonPatch,
    );
  }
  await pollUntil("the proof pod and marooned nodes to be gone", async () => {
    const nodes = await core.listNode({ labelSelector: NODE_POD_UID_LABEL });
    return (await proofPods()).length + nodes.items.length === 0 ? true : undefined;
  }, { timeoutMs: 30_000 });
}

/** Plays the kubelet of the webhook's pod: keeps its certificate files in step with the mounted Secret. */
function syncWebhookCertificate(certFile: string, keyFile: string): NodeJS.Timeout {
  const core = cluster.admin.makeApiClient(CoreV1Api);
  let last = "";
  return setInterval(() => {
    void core.readNamespacedSecret({ namespace: DEFAULT_SYSTEM_NAMESPACE, name: WEBHOOK_TLS_SECRET }).then(async (secret) => {
      const cert = Buffer.from(secret.data?.["tls.crt"] ?? "", "base64").toString("utf8");
      const key = Buffer.from(secret.data?.["tls.key"] ?? "", "base64").toString("utf8");
      if (!cert || cert + key === last) return;
      last = cert + key;
      await writeFile(keyFile, key, { mode: 0o600 });
      await writeFile(certFile, cert, { mode: 0o600 });
    }, () => undefined);
  }, 300);
}

beforeAll(async () => {
  cluster = await startOwnCluster();
  dir = await mkdtemp(join(tmpdir(), "maroonedpods-rbac-proof-"));
  await install(cluster.admin, { certificates: "self-managed", dryRun: false });
  // No Service network on the local control plane: the API server reaches the webhook process on loopback.
  const port = await freeLoopbackPort();
  await cluster.admin.makeApiClient(AdmissionregistrationV1Api).patchMutatingWebhookConfiguration(
    { name: MUTATING_WEBHOOK_CONFIGURATION_NAME, body: [{ op: "remove", path: "/webhooks/0/clientConfig/service" }, { op: "add", path: "/webhooks/0/clientConfig/url", value: `https://127.0.0.1:${String(port)}${MUTATE_PODS_PATH}` }] },
    jsonPatch,
  );
  const account = await serviceAccountKubeConfig(cluster.admin, { namespace: DEFAULT_SYSTEM_NAMESPACE, name: DEFAULT_CONTROLLER_SERVICE_ACCOUNT });
  controllerKubeconfig = join(dir, "controller.kubeconfig");
  await writeFile(controllerKubeconfig, account.exportConfig(), { mode: 0o600 });
  await resetCluster();
  const certFile = join(dir, "tls.crt");
  const keyFile = join(dir, "tls.key");
  kubelet = syncWebhookCertificate(certFile, keyFile);
  // The webhook holds no credentials at all (its ServiceAccount mounts no token): it starts once the controller made its certificate.
  void pollUntil("the webhook's certificate files", async () => {
    await access(certFile);
    return true;
  }, { timeoutMs: 120_000, intervalMs: 300 }).then(async () => {
    webhook = await startComponent("webhook", [`--tls-cert-file=${certFile}`, `--tls-key-file=${keyFile}`, "--bind-address=127.0.0.1", `--port=${String(port)}`, "--ops-bind-address=127.0.0.1", "--ops-port=0", "--cert-reload-interval=1s", "--log-level=error"]);
  });
}, 600_000);

afterAll(async () => {
  clearInterval(kubelet);
  await webhook?.stop();
  await cluster.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("the controller's RBAC, proven by use as its ServiceAccount", () => {
  it("with every rule, the whole flow passes: certificate, gate, VM, trusted node, release, Running, teardown", async () => {
    expect(await runFlow(undefined)).toBeUndefined();
    const core = cluster.admin.makeApiClient(CoreV1Api);
    for (const name of [WEBHOOK_CA_SECRET, WEBHOOK_TLS_SECRET]) goodCertificates.set(name, await core.readNamespacedSecret({ namespace: DEFAULT_SYSTEM_NAMESPACE, name }));
    goodCaBundle = (await cluster.admin.makeApiClient(AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: MUTATING_WEBHOOK_CONFIGURATION_NAME })).webhooks?.[0]?.clientConfig.caBundle ?? "";
    await resetCluster();
  }, 300_000);

  it("every verb of every rule is named in the table of expected failures", () => {
    expect(cases().map((c) => c.key).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it("without any one verb, the step that needs it fails", async () => {
    const outcomes: Record<string, string> = {};
    for (const testCase of cases()) {
      await applyObjects(cluster.admin, [testCase.reduced], INSTALL_FIELD_MANAGER);
      await pollUntil(`RBAC without ${testCase.key}`, async () => ((await allowed(testCase.access)) ? undefined : true), { timeoutMs: 10_000 });
      try {
        outcomes[testCase.key] = (await runFlow(EXPECTED[testCase.key])) ?? "nothing failed: the verb is not needed";
      } finally {
        await applyObjects(cluster.admin, [testCase.original], INSTALL_FIELD_MANAGER);
        await pollUntil(`RBAC with ${testCase.key} again`, async () => ((await allowed(testCase.access)) ? true : undefined), { timeoutMs: 10_000 });
        await resetCluster();
      }
    }
    expect(outcomes).toEqual(EXPECTED);
  }, 1_800_000);
});
