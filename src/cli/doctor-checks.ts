import { randomBytes } from "node:crypto";
import {
  AdmissionregistrationV1Api,
  AuthenticationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  VersionApi,
  type KubeConfig,
} from "@kubernetes/client-node";
import { KUBE_SYSTEM_NAMESPACE, MAROON_LABEL, MAROON_LABEL_VALUE, SCHEDULING_GATE } from "../api/names.ts";
import { CONFIG_GROUP, CONFIG_NAME, CONFIG_PLURAL, CONFIG_VERSION, resolveConfig, type MaroonedPodsConfigSpec } from "../controller/config.ts";
import { apiMessageOf, statusCodeOf } from "../kube/errors.ts";
import { kubeConfigFor } from "../kube/kubeconfig.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../kubevirt/api.ts";
import { MUTATING_WEBHOOK_CONFIGURATION_NAME } from "../../webhook/manifests.ts";

export interface CheckResult {
  readonly check: string;
  readonly ok: boolean;
  /** What was found; for a failure, what to do about it. */
  readonly detail: string;
}

const MIN_MINOR = 30;

/** Kubernetes >= 1.30: gated pods may gain nodeSelector entries. */
export function versionCheck(gitVersion: string): CheckResult {
  const match = /^v1\.(\d+)\./.exec(gitVersion);
  const minor = match ? Number(match[1]) : 0;
  return minor >= MIN_MINOR
    ? { check: "Kubernetes >= 1.30", ok: true, detail: gitVersion }
    : { check: "Kubernetes >= 1.30", ok: false, detail: `${gitVersion}: upgrade to 1.30 or later (scheduling gates with mutable nodeSelector)` };
}

/** k3s and RKE2 report themselves in the version; a k3s agent can only join those. */
export function clusterKindCheck(gitVersion: string, joinMethod: string): CheckResult {
  const kind = /\+(k3s|rke2)/.test(gitVersion) ? "k3s" : "kubeadm";
  const check = "cluster kind matches joinMethod";
  return kind === joinMethod
    ? { check, ok: true, detail: `${kind} cluster, joinMethod ${joinMethod}` }
    : { check, ok: false, detail: `${kind === "k3s" ? "a k3s/RKE2" : "not a k3s/RKE2"} cluster but joinMethod is ${joinMethod}: set spec.joinMethod: ${kind} in the MaroonedPodsConfig` };
}

/** The warm pool as the controller reported it in the config's status; undefined (no check) with the pool off. */
export function warmPoolCheck(size: number, status: { desired?: number; booting?: number; available?: number; claimed?: number } | undefined): CheckResult | undefined {
  if (size === 0) return undefined;
  const check = "warm pool";
  if (status?.desired !== size) return { check, ok: false, detail: `the controller has not reported a pool of ${String(size)} in the config's status: is it running and the leader?` };
  const counts = `${String(status.available ?? 0)} of ${String(size)} available, ${String(status.booting ?? 0)} booting, ${String(status.claimed ?? 0)} claimed`;
  return (status.available ?? 0) > 0
    ? { check, ok: true, detail: counts }
    : { check, ok: false, detail: `${counts}: no pool VM is ready, pods launch their own meanwhile; see the controller's log (component warm-pool) and the pool VMIs' events` };
}

type Probe = () => Promise<CheckResult>;

async function guarded(check: string, probe: Probe): Promise<CheckResult> {
  try {
    return await probe();
  } catch (error) {
    return { check, ok: false, detail: `could not check: ${apiMessageOf(error)}` };
  }
}

/** Every check against the cluster the kubeconfig names, in a fixed order. */
export async function runDoctorChecks(kubeConfig: KubeConfig): Promise<CheckResult[]> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const gitVersion = (await kubeConfig.makeApiClient(VersionApi).getCode()).gitVersion;

  let spec: MaroonedPodsConfigSpec | undefined;
  let poolStatus: Parameters<typeof warmPoolCheck>[1];
  const config = await guarded("config valid", async () => {
    try {
      const object = (await custom.getClusterCustomObject({ group: CONFIG_GROUP, version: CONFIG_VERSION, plural: CONFIG_PLURAL, name: CONFIG_NAME })) as { spec?: MaroonedPodsConfigSpec; status?: { warmPool?: Parameters<typeof warmPoolCheck>[1] } };
      spec = object.spec;
      poolStatus = object.status?.warmPool;
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
    }
    const resolved = resolveConfig(spec, { apiServerEndpoint: kubeConfig.getCurrentCluster()?.server ?? "" });
    if (!resolved.ok) return { check: "config valid", ok: false, detail: `fix the MaroonedPodsConfig: ${resolved.errors.join("; ")}` };
    return { check: "config valid", ok: true, detail: spec ? `MaroonedPodsConfig ${CONFIG_NAME}` : "no MaroonedPodsConfig: defaults apply" };
  });
  const resolved = resolveConfig(spec, { apiServerEndpoint: kubeConfig.getCurrentCluster()?.server ?? "" });
  const joinMethod = resolved.ok ? resolved.config.joinMethod : "k3s";
  const groups = resolved.ok ? resolved.config.bootstrapTokenGroups : [];
  const pool = warmPoolCheck(resolved.ok ? resolved.config.warmPool.size : 0, poolStatus);

  return [
    versionCheck(gitVersion),
    await guarded("KubeVirt installed", async () => {
      let version: string | undefined;
      try {
        const list = (await custom.listClusterCustomObject({ group: VMI_GROUP, version: VMI_VERSION, plural: "kubevirts" })) as { items: { status?: { observedKubeVirtVersion?: string } }[] };
        version = list.items[0]?.status?.observedKubeVirtVersion;
      } catch (error) {
        if (statusCodeOf(error) !== 404) throw error;
      }
      return version
        ? { check: "KubeVirt installed", ok: true, detail: `KubeVirt ${version}` }
        : { check: "KubeVirt installed", ok: false, detail: "no KubeVirt custom resource: install KubeVirt (virt-operator and its KubeVirt CR)" };
    }),
    await guarded("VirtualMachineInstance CRD", async () => {
      await custom.listClusterCustomObject({ group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, limit: 1 });
      return { check: "VirtualMachineInstance CRD", ok: true, detail: `${VMI_PLURAL}.${VMI_GROUP}/${VMI_VERSION} served` };
    }),
    clusterKindCheck(gitVersion, joinMethod),
    await guarded("bootstrap-token authentication", () => bootstrapTokenCheck(kubeConfig, core)),
    await guarded("CSR auto-approval RBAC", async () => {
      const bindings = (await kubeConfig.makeApiClient(RbacAuthorizationV1Api).listClusterRoleBinding()).items;
      const granted = (role: string) => bindings.filter((b) => b.roleRef.name === role).flatMap((b) => (b.subjects ?? []).filter((s) => s.kind === "Group").map((s) => s.name));
      const missing = [
        ["system:node-bootstrapper", "create CSRs"],
        ["system:certificates.k8s.io:certificatesigningrequests:nodeclient", "auto-approval of the first client certificate"],
      ].filter(([role]) => !groups.every((g) => granted(role ?? "").includes(g)));
      return missing.length === 0
        ? { check: "CSR auto-approval RBAC", ok: true, detail: `token groups ${groups.join(", ")} may create and get approved node CSRs` }
        : { check: "CSR auto-approval RBAC", ok: false, detail: `bind ${missing.map(([role, why]) => `${role ?? ""} (${why ?? ""})`).join(" and ")} to ${groups.join(", ")}, as kubeadm init does` };
    }),
    await guarded("webhook reachable", async () => {
      await kubeConfig.makeApiClient(AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: MUTATING_WEBHOOK_CONFIGURATION_NAME });
      const pod = await core.createNamespacedPod({
        namespace: "default",
        dryRun: "All",
        body: { metadata: { generateName: "maroonedpods-doctor-", labels: { [MAROON_LABEL]: MAROON_LABEL_VALUE } }, spec: { containers: [{ name: "probe", image: "registry.invalid/probe" }] } },
      });
      const gated = (pod.spec?.schedulingGates ?? []).some((g) => g.name === SCHEDULING_GATE);
      return gated
        ? { check: "webhook reachable", ok: true, detail: "a dry-run selected pod came back gated" }
        : { check: "webhook reachable", ok: false, detail: "a dry-run selected pod was not gated: check the MutatingWebhookConfiguration's matchConditions and namespaceSelector" };
    }),
    config,
    ...(pool ? [pool] : []),
  ];
}

/** A throwaway token proves the API server authenticates bootstrap tokens; it is deleted again at once. */
async function bootstrapTokenCheck(kubeConfig: KubeConfig, core: CoreV1Api): Promise<CheckResult> {
  const check = "bootstrap-token authentication";
  const id = randomBytes(3).toString("hex");
  const secret = randomBytes(8).toString("hex");
  const name = `bootstrap-token-${id}`;
  await core.createNamespacedSecret({
    namespace: KUBE_SYSTEM_NAMESPACE,
    body: {
      metadata: { name, labels: { "app.kubernetes.io/managed-by": "maroonedpods-doctor" } },
      type: "bootstrap.kubernetes.io/token",
      stringData: { "token-id": id, "token-secret": secret, expiration: new Date(Date.now() + 120_000).toISOString().replace(/\.\d{3}Z$/, "Z"), "usage-bootstrap-authentication": "true" },
    },
  });
  try {
    const cluster = kubeConfig.getCurrentCluster();
    const asToken = kubeConfigFor({
      clusterName: "doctor",
      server: cluster?.server ?? "",
      caPem: Buffer.from(cluster?.caData ?? "", "base64").toString("utf8"),
      user: { name: "doctor-token", token: `${id}.${secret}` },
    });
    const review = await asToken.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    const username = review.status?.userInfo?.username ?? "";
    return username === `system:bootstrap:${id}`
      ? { check, ok: true, detail: "a bootstrap token authenticates as system:bootstrap:<id>" }
      : { check, ok: false, detail: `a bootstrap token authenticated as ${username}` };
  } catch (error) {
    if (statusCodeOf(error) === 401) return { check, ok: false, detail: "bootstrap tokens are refused: start kube-apiserver with --enable-bootstrap-token-auth=true" };
    throw error;
  } finally {
    await core.deleteNamespacedSecret({ namespace: KUBE_SYSTEM_NAMESPACE, name });
  }
}

export function renderChecks(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.check.length), "CHECK".length) + 2;
  const lines = [`${"CHECK".padEnd(width)}RESULT  DETAIL`, ...results.map((r) => `${r.check.padEnd(width)}${(r.ok ? "pass" : "FAIL").padEnd(8)}${r.detail}`)];
  return `${lines.join("\n")}\n`;
}
