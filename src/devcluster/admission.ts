import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AdmissionregistrationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { isNotFound } from "../kube/errors.ts";
import type { Logger } from "pino";
import { runtimeClass } from "../install/cluster-objects.ts";
import { applyObjects } from "../kube/apply.ts";
import { createCertificateAuthority, issueCertificate } from "../pki/certificates.ts";
import { MUTATE_PODS_PATH } from "../../webhook/handler.ts";
import { MUTATING_WEBHOOK_CONFIGURATION_NAME, mutatingWebhookConfiguration, POLICY_NAMES, validatingAdmissionPolicies } from "../../webhook/manifests.ts";
import { startWebhook, type RunningWebhook } from "../../webhook/server.ts";
import type { AdmissionSettings } from "../../webhook/settings.ts";
import { freeLoopbackPort } from "./ports.ts";

const FIELD_MANAGER = "maroonedpods-devcluster";

/** A serving certificate for a webhook on 127.0.0.1, written where the webhook reads it. */
export async function writeLoopbackServingCertificate(dir: string): Promise<{ caPem: string; certFile: string; keyFile: string }> {
  const ca = await createCertificateAuthority("maroonedpods-dev-webhook-ca", 365);
  const serving = await issueCertificate(ca, { commonName: "127.0.0.1", ipAddresses: ["127.0.0.1"], usage: "server", validForDays: 365 });
  const certFile = join(dir, "webhook-tls.crt");
  const keyFile = join(dir, "webhook-tls.key");
  await writeFile(certFile, serving.certPem, { mode: 0o600 });
  await writeFile(keyFile, serving.keyPem, { mode: 0o600 });
  return { caPem: ca.certPem, certFile, keyFile };
}

/** Registers a webhook reached by URL, the four policies, and the RuntimeClass that selects pods. */
export async function registerAdmission(kubeConfig: KubeConfig, settings: AdmissionSettings, webhook: { url: string; caPem: string }): Promise<void> {
  await applyObjects(
    kubeConfig,
    [
      mutatingWebhookConfiguration(settings, { url: webhook.url, caBundle: Buffer.from(webhook.caPem).toString("base64") }),
      ...validatingAdmissionPolicies(settings),
      runtimeClass(settings.runtimeClassName),
    ],
    FIELD_MANAGER,
  );
}

/** Removes what registerAdmission added (the RuntimeClass stays: pods may use it). */
export async function unregisterAdmission(kubeConfig: KubeConfig): Promise<void> {
  const registration = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const ignoreMissing = (error: unknown) => {
    if (!isNotFound(error)) throw error;
  };
  await registration.deleteMutatingWebhookConfiguration({ name: MUTATING_WEBHOOK_CONFIGURATION_NAME }).catch(ignoreMissing);
  for (const name of Object.values(POLICY_NAMES)) {
    await registration.deleteValidatingAdmissionPolicyBinding({ name }).catch(ignoreMissing);
    await registration.deleteValidatingAdmissionPolicy({ name }).catch(ignoreMissing);
  }
}

/** The webhook in-process on a loopback port, registered with the cluster; for `maroonedpods dev`. */
export async function startDevAdmission(options: { kubeConfig: KubeConfig; settings: AdmissionSettings; workDir: string; logger: Logger }): Promise<RunningWebhook> {
  const tls = await writeLoopbackServingCertificate(options.workDir);
  const webhook = await startWebhook({
    settings: options.settings,
    tls,
    host: "127.0.0.1",
    port: await freeLoopbackPort(),
    opsHost: "127.0.0.1",
    opsPort: 0,
    certReloadIntervalMs: 10_000,
    logger: options.logger.child({ component: "webhook" }),
  });
  try {
    await registerAdmission(options.kubeConfig, options.settings, { url: `https://127.0.0.1:${webhook.port}${MUTATE_PODS_PATH}`, caPem: tls.caPem });
  } catch (error) {
    await webhook.stop();
    throw error;
  }
  return webhook;
}
