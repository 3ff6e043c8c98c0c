import { isIP } from "node:net";
import { WEBHOOK_SERVICE_NAME } from "../api/names.ts";
import type { WebhookCertificateSettings } from "../controller/webhook-certificate-sync.ts";
import { MUTATING_WEBHOOK_CONFIGURATION_NAME } from "../../webhook/manifests.ts";
import { booleanFlag, parseDurationMs, UsageError, type OptionSpec } from "./command.ts";

/** The controller's flags for managing the webhook's certificates itself. */
export const WEBHOOK_CERTIFICATE_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  // Off by default: `maroonedpods dev` and the tests register the webhook with their own loopback certificate.
  "manage-webhook-certificate": { type: "string", default: "false", valueName: "true|false", description: "keep the webhook's CA, serving Secret and caBundle up to date" },
  "webhook-service": { type: "string", default: WEBHOOK_SERVICE_NAME, valueName: "NAME", description: "the webhook's Service in --namespace, named by the serving certificate" },
  "webhook-configuration": { type: "string", default: MUTATING_WEBHOOK_CONFIGURATION_NAME, valueName: "NAME", description: "MutatingWebhookConfiguration whose caBundle to keep" },
  "webhook-cert-ip-sans": { type: "string", default: "", valueName: "IP[,IP]", description: "extra IP addresses in the serving certificate, for an API server that calls the webhook by URL" },
  "webhook-ca-validity": { type: "string", default: "87600h", valueName: "DURATION", description: "lifetime of a webhook CA; replaced after two thirds of it" },
  "webhook-cert-validity": { type: "string", default: "8760h", valueName: "DURATION", description: "lifetime of a serving certificate; reissued after two thirds of it" },
  "webhook-cert-check-interval": { type: "string", default: "1m", valueName: "DURATION", description: "how often the leader checks the certificates" },
};

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The settings, or undefined when the controller does not manage the certificates. */
export function webhookCertificateSettings(
  values: Readonly<Record<string, string | boolean | undefined>>,
  namespace: string,
): (WebhookCertificateSettings & { checkIntervalMs: number }) | undefined {
  const text = (flag: string) => String(values[flag]);
  if (!booleanFlag("manage-webhook-certificate", text("manage-webhook-certificate"))) return undefined;
  const serviceName = text("webhook-service");
  if (!DNS_LABEL.test(serviceName)) throw new UsageError(`--webhook-service: ${JSON.stringify(serviceName)} is not a Service name`);
  const configurationName = text("webhook-configuration");
  if (configurationName.length > 253 || !DNS_SUBDOMAIN.test(configurationName)) {
    throw new UsageError(`--webhook-configuration: ${JSON.stringify(configurationName)} is not an object name`);
  }
  const ipAddresses = text("webhook-cert-ip-sans") === "" ? [] : text("webhook-cert-ip-sans").split(",");
  const badIp = ipAddresses.find((ip) => isIP(ip) === 0);
  if (badIp !== undefined) throw new UsageError(`--webhook-cert-ip-sans: ${JSON.stringify(badIp)} is not an IP address`);
  const caValidityMs = parseDurationMs("webhook-ca-validity", text("webhook-ca-validity"));
  const certValidityMs = parseDurationMs("webhook-cert-validity", text("webhook-cert-validity"));
  const checkIntervalMs = parseDurationMs("webhook-cert-check-interval", text("webhook-cert-check-interval"));
  if (certValidityMs > caValidityMs) throw new UsageError("--webhook-cert-validity: must not exceed --webhook-ca-validity");
  // Renewal is due at two thirds of a certificate's life; a slower check could let it expire first.
  if (checkIntervalMs <= 0 || checkIntervalMs * 3 > certValidityMs) {
    throw new UsageError("--webhook-cert-check-interval: must be above zero and at most a third of --webhook-cert-validity");
  }
  return { namespace, serviceName, configurationName, ipAddresses, caValidityMs, certValidityMs, checkIntervalMs };
}
