import { AdmissionregistrationV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1MutatingWebhookConfiguration, type V1Secret } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";
import { MANAGED_BY, OWNED_LABELS } from "../api/conditions.ts";
import { METRIC_NAMES } from "../api/metric-names.ts";
import { WEBHOOK_CA_SECRET, WEBHOOK_TLS_SECRET } from "../api/names.ts";
import { isNotFound, statusCodeOf } from "../kube/errors.ts";
import { createCertificateAuthority, issueCertificate, loadCertificateAuthority } from "../pki/certificates.ts";
import { nextWebhookCertificateStep, SECRET_KEYS, serviceDnsNames, splitPemCertificates, type SecretData } from "./webhook-certificates.ts";

export interface WebhookCertificateSettings {
  /** The controller's namespace: the Secrets and the webhook Service live there. */
  readonly namespace: string;
  readonly serviceName: string;
  readonly configurationName: string;
  /** Extra IP SANs, for an API server that reaches the webhook by URL (local runs). */
  readonly ipAddresses: readonly string[];
  readonly caValidityMs: number;
  readonly certValidityMs: number;
}

/** One pass: reads the two Secrets and the webhook configuration, writes until all agree or a write must wait. */
export type WebhookCertificateSync = () => Promise<void>;

const DAY_MS = 86_400_000;
/** A pass needs at most CA, bundle, serving cert; more means someone keeps undoing our writes: try again next pass. */
const MAX_STEPS_PER_PASS = 4;
const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);

const decode = (data: Record<string, string> | undefined): SecretData =>
  Object.fromEntries(Object.entries(data ?? {}).map(([key, value]) => [key, Buffer.from(value, "base64").toString("utf8")]));
const encode = (data: SecretData): Record<string, string> =>
  Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString("base64")]));

/** Another writer got there between our read and our write: the next pass reads again. */
class WriteConflict extends Error {}

function createMetrics(registry: Registry) {
  const registers = [registry];
  return {
    rotations: new Counter({
      name: METRIC_NAMES.webhookCertificateRotations,
      help: "Webhook certificates the controller made, by what: ca or serving.",
      labelNames: ["what"] as const,
      registers,
    }),
    expiry: new Gauge({
      name: METRIC_NAMES.webhookCertificateExpiry,
      help: "When the current webhook CA and serving certificate expire (Unix seconds), by what: ca or serving.",
      labelNames: ["what"] as const,
      registers,
    }),
    failures: new Counter({ name: METRIC_NAMES.webhookCertificateSyncErrors, help: "Webhook certificate passes that failed and wait for the next one.", registers }),
  };
}

export function createWebhookCertificateSync(settings: WebhookCertificateSettings, deps: { kubeConfig: KubeConfig; logger: Logger; registry: Registry; now: () => number }): WebhookCertificateSync {
  const core = deps.kubeConfig.makeApiClient(CoreV1Api);
  const registration = deps.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const metrics = createMetrics(deps.registry);
  const logger = deps.logger.child({ configuration: settings.configurationName });
  const dnsNames = serviceDnsNames(settings.serviceName, settings.namespace);
  let configurationMissing = false;

  const readSecret = async (name: string): Promise<V1Secret | undefined> => {
    try {
      return await core.readNamespacedSecret({ namespace: settings.namespace, name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
  const readConfiguration = async (): Promise<V1MutatingWebhookConfiguration | undefined> => {
    try {
      return await registration.readMutatingWebhookConfiguration({ name: settings.configurationName });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };

  /** Create, or replace with the resourceVersion we read, so two replicas can never both win. */
  const writeSecret = async (name: string, current: V1Secret | undefined, data: SecretData): Promise<void> => {
    try {
      if (current === undefined) {
        await core.createNamespacedSecret({
          namespace: settings.namespace,
          body: { metadata: { name, labels: { [OWNED_LABELS.component]: MANAGED_BY } }, type: "kubernetes.io/tls", data: encode(data) },
        });
      } else {
        // A Secret's type is immutable: a replaced garbage Secret keeps its type (the webhook reads keys, not the type).
        await core.replaceNamespacedSecret({ namespace: settings.namespace, name, body: { ...current, data: encode(data), stringData: undefined } });
      }
    } catch (error) {
      if (statusCodeOf(error) === 409) throw new WriteConflict(`Secret ${name} changed meanwhile`);
      throw error;
    }
  };

  const patchCaBundle = async (configuration: V1MutatingWebhookConfiguration, bundle: string): Promise<void> => {
    const caBundle = Buffer.from(bundle).toString("base64");
    // The resourceVersion test makes the per-index patch safe against a configuration rewritten meanwhile.
    const operations = [
      { op: "test", path: "/metadata/resourceVersion", value: configuration.metadata?.resourceVersion },
      ...(configuration.webhooks ?? []).map((_, index) => ({ op: "add", path: `/webhooks/${String(index)}/clientConfig/caBundle`, value: caBundle })),
    ];
    try {
      await registration.patchMutatingWebhookConfiguration({ name: settings.configurationName, body: operations }, jsonPatch);
    } catch (error) {
      const status = statusCodeOf(error);
      if (status === 409 || status === 422) throw new WriteConflict(`MutatingWebhookConfiguration ${settings.configurationName} changed meanwhile`);
      throw error;
    }
  };

  const step = async (): Promise<boolean> => {
    const [caSecret, servingSecret, configuration] = await Promise.all([readSecret(WEBHOOK_CA_SECRET), readSecret(WEBHOOK_TLS_SECRET), readConfiguration()]);
    if ((configuration === undefined) !== configurationMissing) {
      configurationMissing = configuration === undefined;
      if (configurationMissing) logger.info("MutatingWebhookConfiguration not found; its caBundle is set once it exists");
    }
    const now = deps.now();
    const next = nextWebhookCertificateStep({
      now,
      caSecret: caSecret && decode(caSecret.data),
      servingSecret: servingSecret && decode(servingSecret.data),
      caBundles: configuration?.webhooks?.map((webhook) => Buffer.from(webhook.clientConfig.caBundle ?? "", "base64").toString("utf8")),
      dnsNames,
      ipAddresses: settings.ipAddresses,
    });
    switch (next.kind) {
      case "upToDate":
        metrics.expiry.set({ what: "ca" }, next.caNotAfter / 1000);
        metrics.expiry.set({ what: "serving" }, next.servingNotAfter / 1000);
        return false;
      case "rotateCa": {
        const ca = await createCertificateAuthority(`${settings.serviceName}-ca`, settings.caValidityMs / DAY_MS);
        const certPem = `${ca.certPem.trim()}\n`;
        await writeSecret(WEBHOOK_CA_SECRET, caSecret, { [SECRET_KEYS.cert]: certPem, [SECRET_KEYS.key]: ca.keyPem, [SECRET_KEYS.caBundle]: certPem + next.keep });
        metrics.rotations.inc({ what: "ca" });
        logger.info({ reason: next.reason, notAfter: ca.cert.notAfter.toISOString(), keptCas: splitPemCertificates(next.keep).length }, "webhook CA rotated");
        return true;
      }
      case "patchCaBundle":
        if (configuration === undefined) return false;
        await patchCaBundle(configuration, next.bundle);
        logger.info({ webhooks: configuration.webhooks?.length ?? 0 }, "webhook caBundle updated");
        return true;
      case "issueServing": {
        const ca = await loadCertificateAuthority(next.caCertPem, next.caKeyPem);
        const serving = await issueCertificate(ca, {
          commonName: `${settings.serviceName}.${settings.namespace}.svc`,
          dnsNames,
          ipAddresses: settings.ipAddresses,
          usage: "server",
          validForDays: settings.certValidityMs / DAY_MS,
        });
        await writeSecret(WEBHOOK_TLS_SECRET, servingSecret, { [SECRET_KEYS.cert]: `${serving.certPem.trim()}\n`, [SECRET_KEYS.key]: serving.keyPem });
        metrics.rotations.inc({ what: "serving" });
        logger.info({ reason: next.reason, notAfter: serving.cert.notAfter.toISOString(), dnsNames, ipAddresses: settings.ipAddresses }, "webhook serving certificate issued");
        return true;
      }
    }
  };

  // Steps run back to back: a new CA, then the caBundle, then the serving pair from it. Issuing right after the
  // bundle patch is safe: the API server's watch sees the patch within moments, while the webhook only serves the
  // new pair after the kubelet syncs its Secret volume, and until then its old pair stays valid and trusted.
  return async () => {
    try {
      for (let steps = 0; steps < MAX_STEPS_PER_PASS && (await step()); steps++);
    } catch (error) {
      if (error instanceof WriteConflict) {
        logger.info({ reason: error.message }, "webhook certificate write conflicted; retrying next pass");
        return;
      }
      metrics.failures.inc();
      logger.warn({ err: error }, "webhook certificate pass failed; retrying next pass");
    }
  };
}
