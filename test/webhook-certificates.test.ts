import { X509Certificate } from "node:crypto";
import { access, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type PeerCertificate } from "node:tls";
import { AdmissionregistrationV1Api, CoreV1Api, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CONTROLLER_SERVICE_ACCOUNT, DEFAULT_SYSTEM_NAMESPACE, MAROON_LABEL, SCHEDULING_GATE, WEBHOOK_CA_SECRET, WEBHOOK_TLS_SECRET } from "../src/api/names.ts";
import { SECRET_KEYS, serviceDnsNames, splitPemCertificates } from "../src/controller/webhook-certificates.ts";
import { freeLoopbackPort } from "../src/devcluster/ports.ts";
import { serviceAccountKubeConfig } from "../src/devcluster/service-account.ts";
import { applyObjects } from "../src/kube/apply.ts";
import { isNotFound } from "../src/kube/errors.ts";
import { pollUntil } from "../src/util/poll.ts";
import { MUTATE_PODS_PATH } from "../webhook/handler.ts";
import { MUTATING_WEBHOOK_CONFIGURATION_NAME, mutatingWebhookConfiguration } from "../webhook/manifests.ts";
import { DEFAULT_ADMISSION_SETTINGS } from "../webhook/settings.ts";
import { adminKubeConfig } from "./support/kube.ts";
import { startComponent, type ComponentProcess } from "./support/stack.ts";

const NAMESPACE = DEFAULT_SYSTEM_NAMESPACE;
const FIELD_MANAGER = "maroonedpods-test";
// Short lives, so rotation happens within the test: serving renewed every ~13 s, the CA after ~38 s.
const CA_VALIDITY_S = 60;
const CERT_VALIDITY_S = 20;

let admin: KubeConfig;
let core: CoreV1Api;
let registration: AdmissionregistrationV1Api;
let dir: string;
let webhookPort: number;
let controller: ComponentProcess | undefined;
let webhook: ComponentProcess | undefined;
let kubelet: { stop: () => Promise<void> } | undefined;

const decoded = (secret: V1Secret): Record<string, string> =>
  Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, "base64").toString("utf8")]));

async function readSecret(name: string): Promise<Record<string, string> | undefined> {
  try {
    return decoded(await core.readNamespacedSecret({ namespace: NAMESPACE, name }));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function caBundles(): Promise<string[]> {
  const configuration = await registration.readMutatingWebhookConfiguration({ name: MUTATING_WEBHOOK_CONFIGURATION_NAME });
  return (configuration.webhooks ?? []).map((w) => Buffer.from(w.clientConfig.caBundle ?? "", "base64").toString("utf8"));
}

const fingerprints = (bundle: string): string[] => splitPemCertificates(bundle).map((pem) => new X509Certificate(pem).fingerprint256);
const fingerprintOf = (pem: string | undefined): string => new X509Certificate(pem ?? "").fingerprint256;

/** Plays the kubelet: copies the serving Secret into the files the webhook reads, swapping each file atomically. */
function syncSecretVolume(certFile: string, keyFile: string): { stop: () => Promise<void> } {
  let last = "";
  const stopping = new AbortController();
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      const data = await readSecret(WEBHOOK_TLS_SECRET).catch(() => undefined);
      const cert = data?.[SECRET_KEYS.cert];
      const key = data?.[SECRET_KEYS.key];
      if (cert !== undefined && key !== undefined && cert + key !== last) {
        await writeFile(`${keyFile}.tmp`, key, { mode: 0o600 });
        await writeFile(`${certFile}.tmp`, cert);
        await rename(`${keyFile}.tmp`, keyFile);
        await rename(`${certFile}.tmp`, certFile);
        last = cert + key;
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  })();
  return {
    stop: async () => {
      stopping.abort();
      await loop;
    },
  };
}

/** The certificate the webhook presents right now. */
function servedCertificate(): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: webhookPort, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.on("error", reject);
  });
}

/** Waits until the webhook serves the serving Secret's current certificate. */
async function webhookServesSecret(): Promise<X509Certificate> {
  return pollUntil("the webhook to serve the serving Secret's certificate", async () => {
    const current = (await readSecret(WEBHOOK_TLS_SECRET))?.[SECRET_KEYS.cert];
    if (current === undefined) return undefined;
    const served = await servedCertificate();
    const cert = new X509Certificate(current);
    return served.fingerprint256 === cert.fingerprint256 ? cert : undefined;
  }, { timeoutMs: 20_000, intervalMs: 300 });
}

/** A selected pod, created with dryRun: the API server calls the webhook (so it must trust its certificate) and stores nothing. */
async function admittedGates(): Promise<string[]> {
  const pod = await core.createNamespacedPod({
    namespace: "default",
    dryRun: "All",
    body: { metadata: { generateName: "cert-check-", labels: { [MAROON_LABEL]: "true" } }, spec: { containers: [{ name: "main", image: "registry.example/app:1" }] } },
  });
  return (pod.spec?.schedulingGates ?? []).map((gate) => gate.name);
}

async function metric(opsPort: unknown, line: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${String(opsPort)}/metrics`)).text();
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

async function deleteIfPresent(remove: () => Promise<unknown>): Promise<void> {
  try {
    await remove();
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

const deleteSecrets = async () => {
  for (const name of [WEBHOOK_CA_SECRET, WEBHOOK_TLS_SECRET]) await deleteIfPresent(() => core.deleteNamespacedSecret({ namespace: NAMESPACE, name }));
};
const registerWebhook = () =>
  applyObjects(admin, [mutatingWebhookConfiguration(DEFAULT_ADMISSION_SETTINGS, { url: `https://127.0.0.1:${String(webhookPort)}${MUTATE_PODS_PATH}` })], FIELD_MANAGER);

beforeAll(async () => {
  admin = adminKubeConfig();
  core = admin.makeApiClient(CoreV1Api);
  registration = admin.makeApiClient(AdmissionregistrationV1Api);
  dir = await mkdtemp(join(tmpdir(), "maroonedpods-webhook-certs-"));
  webhookPort = await freeLoopbackPort();
  // Other files register a webhook configuration of the same name and remove it when done; start from none.
  await deleteIfPresent(() => registration.deleteMutatingWebhookConfiguration({ name: MUTATING_WEBHOOK_CONFIGURATION_NAME }));
  await deleteSecrets();
  const kubeconfigPath = join(dir, "controller.kubeconfig");
  const controllerKubeConfig = await serviceAccountKubeConfig(admin, { namespace: NAMESPACE, name: DEFAULT_CONTROLLER_SERVICE_ACCOUNT });
  await writeFile(kubeconfigPath, controllerKubeConfig.exportConfig(), { mode: 0o600 });
  controller = await startComponent("controller", [
    `--kubeconfig=${kubeconfigPath}`, "--leader-elect=false", "--ops-bind-address=127.0.0.1", "--ops-port=0", "--log-level=warn",
    "--manage-webhook-certificate=true", "--webhook-cert-ip-sans=127.0.0.1", `--webhook-ca-validity=${String(CA_VALIDITY_S)}s`,
    `--webhook-cert-validity=${String(CERT_VALIDITY_S)}s`, "--webhook-cert-check-interval=1s",
  ]);
}, 60_000);

afterAll(async () => {
  await kubelet?.stop();
  await webhook?.stop();
  await controller?.stop();
  await deleteIfPresent(() => registration.deleteMutatingWebhookConfiguration({ name: MUTATING_WEBHOOK_CONFIGURATION_NAME }));
  await deleteSecrets();
  await rm(dir, { recursive: true, force: true });
});

describe("webhook certificates managed by the controller (as its ServiceAccount)", () => {
  it("creates the CA and serving Secrets before the webhook is registered, then fills the caBundle once it is", async () => {
    const serving = await pollUntil("the serving Secret", () => readSecret(WEBHOOK_TLS_SECRET), { timeoutMs: 20_000 });
    const ca = await pollUntil("the CA Secret", () => readSecret(WEBHOOK_CA_SECRET), { timeoutMs: 5_000 });
    // The webhook mounts only the serving pair: the CA key stays out of its pod.
    expect(Object.keys(serving).sort()).toEqual([SECRET_KEYS.cert, SECRET_KEYS.key]);
    expect(Object.keys(ca).sort()).toEqual([SECRET_KEYS.caBundle, SECRET_KEYS.cert, SECRET_KEYS.key].sort());
    expect((await core.readNamespacedSecret({ namespace: NAMESPACE, name: WEBHOOK_TLS_SECRET })).type).toBe("kubernetes.io/tls");
    const caCert = new X509Certificate(ca[SECRET_KEYS.cert] ?? "");
    const cert = new X509Certificate(serving[SECRET_KEYS.cert] ?? "");
    expect(caCert.ca).toBe(true);
    expect(cert.checkIssued(caCert) && cert.verify(caCert.publicKey)).toBe(true);
    const names = serviceDnsNames("maroonedpods-webhook", NAMESPACE).map((n) => `DNS:${n}`);
    expect(cert.subjectAltName?.split(", ").sort()).toEqual([...names, "IP Address:127.0.0.1"].sort());

    await registerWebhook();
    const bundles = await pollUntil("the caBundle", async () => {
      const current = await caBundles();
      return current.every((b) => b !== "") ? current : undefined;
    }, { timeoutMs: 10_000 });
    expect(bundles.map(fingerprints)).toEqual([[caCert.fingerprint256]]);
  });

  it("serves a controller-made certificate the API server trusts: a selected pod is gated", async () => {
    const certFile = join(dir, "tls.crt");
    const keyFile = join(dir, "tls.key");
    kubelet = syncSecretVolume(certFile, keyFile);
    await pollUntil("the secret volume", () => access(certFile).then(() => true), { timeoutMs: 10_000 });
    webhook = await startComponent("webhook", [
      `--tls-cert-file=${certFile}`, `--tls-key-file=${keyFile}`, "--bind-address=127.0.0.1", `--port=${String(webhookPort)}`,
      "--ops-bind-address=127.0.0.1", "--ops-port=0", "--cert-reload-interval=500ms", "--log-level=warn",
    ]);
    await webhookServesSecret();
    expect(await admittedGates()).toContain(SCHEDULING_GATE);
  });

  it("rotates the serving certificate, then the CA, trusting the old CA until it expires; pods keep being admitted", async () => {
    const firstCa = (await readSecret(WEBHOOK_CA_SECRET))?.[SECRET_KEYS.cert];
    const firstServing = (await readSecret(WEBHOOK_TLS_SECRET))?.[SECRET_KEYS.cert];

    await pollUntil("a new serving certificate", async () => ((await readSecret(WEBHOOK_TLS_SECRET))?.[SECRET_KEYS.cert] !== firstServing) || undefined, { timeoutMs: 25_000, intervalMs: 500 });
    await webhookServesSecret();
    expect(await admittedGates()).toContain(SCHEDULING_GATE);

    const rotatedCa = await pollUntil("a new CA", async () => {
      const ca = await readSecret(WEBHOOK_CA_SECRET);
      return ca?.[SECRET_KEYS.cert] !== firstCa ? ca : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    const both = [fingerprintOf(rotatedCa[SECRET_KEYS.cert]), fingerprintOf(firstCa)];
    expect(fingerprints(rotatedCa[SECRET_KEYS.caBundle] ?? "")).toEqual(both);
    await pollUntil("the caBundle with the new and the old CA", async () => ((await caBundles()).every((b) => fingerprints(b).join() === both.join()) || undefined), { timeoutMs: 10_000 });

    const served = await pollUntil("a serving certificate from the new CA", async () => {
      const cert = await webhookServesSecret();
      return cert.checkIssued(new X509Certificate(rotatedCa[SECRET_KEYS.cert] ?? "")) ? cert : undefined;
    }, { timeoutMs: 20_000, intervalMs: 500 });
    expect(served.subjectAltName).toContain("IP Address:127.0.0.1");
    expect(await admittedGates()).toContain(SCHEDULING_GATE);

    // The first CA expires CA_VALIDITY_S after it was made; then only the new one is trusted.
    await pollUntil("the caBundle without the expired CA", async () => ((await caBundles()).every((b) => fingerprints(b).join() === both[0]) || undefined), { timeoutMs: 40_000, intervalMs: 500 });
    expect(await admittedGates()).toContain(SCHEDULING_GATE);
    expect(await metric(controller?.ready.opsPort, 'maroonedpods_webhook_certificate_rotations_total{what="ca"}')).toBeGreaterThanOrEqual(2);
    expect(await metric(controller?.ready.opsPort, 'maroonedpods_webhook_certificate_rotations_total{what="serving"}')).toBeGreaterThanOrEqual(3);
    expect(await metric(controller?.ready.opsPort, 'maroonedpods_webhook_certificate_expiry_timestamp_seconds{what="ca"}')).toBeGreaterThan(Date.now() / 1000);
  }, 150_000);

  it("replaces garbage Secrets instead of crashing, and the webhook is trusted again", async () => {
    const garbage = Buffer.from("not a certificate").toString("base64");
    for (const name of [WEBHOOK_CA_SECRET, WEBHOOK_TLS_SECRET]) {
      // Retried: the controller may rotate the Secret between our read and our write.
      await pollUntil(`garbage in ${name}`, async () => {
        const secret = await core.readNamespacedSecret({ namespace: NAMESPACE, name });
        return core.replaceNamespacedSecret({ namespace: NAMESPACE, name, body: { ...secret, data: { [SECRET_KEYS.cert]: garbage, [SECRET_KEYS.key]: garbage } } });
      }, { timeoutMs: 5_000 });
    }
    const ca = await pollUntil("a valid CA again", async () => {
      const data = await readSecret(WEBHOOK_CA_SECRET);
      try {
        return new X509Certificate(data?.[SECRET_KEYS.cert] ?? "").ca ? data : undefined;
      } catch {
        return undefined;
      }
    }, { timeoutMs: 15_000, intervalMs: 500 });
    const caFingerprint = fingerprintOf(ca[SECRET_KEYS.cert]);
    await pollUntil("the caBundle with the replacement CA", async () => ((await caBundles()).every((b) => fingerprints(b)[0] === caFingerprint) || undefined), { timeoutMs: 10_000 });
    await pollUntil("the webhook serving a certificate from the replacement CA", async () => {
      const cert = await webhookServesSecret();
      return cert.checkIssued(new X509Certificate(ca[SECRET_KEYS.cert] ?? "")) || undefined;
    }, { timeoutMs: 20_000, intervalMs: 500 });
    expect(await admittedGates()).toContain(SCHEDULING_GATE);
    expect(await controller?.stop()).toBe(0);
    controller = undefined;
  }, 60_000);
});
