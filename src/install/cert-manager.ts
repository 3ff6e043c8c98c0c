import { DEFAULT_SYSTEM_NAMESPACE, WEBHOOK_CA_SECRET, WEBHOOK_SERVICE_NAME, WEBHOOK_TLS_SECRET } from "../api/names.ts";
import { serviceDnsNames } from "../controller/webhook-certificates.ts";

const CERT_MANAGER = "cert-manager.io/v1";
const SELF_SIGNED_ISSUER = "maroonedpods-selfsigned";
const CA_ISSUER = "maroonedpods-webhook-ca";
export const SERVING_CERTIFICATE = "maroonedpods-webhook";
/** cert-manager's cainjector fills the caBundle of a webhook configuration carrying this annotation. */
export const INJECT_CA_ANNOTATION = "cert-manager.io/inject-ca-from";
export const injectCaValue = `${DEFAULT_SYSTEM_NAMESPACE}/${SERVING_CERTIFICATE}`;

const inSystem = (name: string) => ({ name, namespace: DEFAULT_SYSTEM_NAMESPACE });
const ecdsa = { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" };

/**
 * The same two Secrets the controller would manage, made by cert-manager
 * instead: a self-signed CA and a serving certificate it issues. Lifetimes
 * match the controller's defaults; cert-manager renews at two thirds.
 */
export function certManagerCertificates(): Record<string, unknown>[] {
  return [
    { apiVersion: CERT_MANAGER, kind: "Issuer", metadata: inSystem(SELF_SIGNED_ISSUER), spec: { selfSigned: {} } },
    {
      apiVersion: CERT_MANAGER,
      kind: "Certificate",
      metadata: inSystem(WEBHOOK_CA_SECRET),
      spec: {
        isCA: true,
        commonName: "maroonedpods-webhook-ca",
        secretName: WEBHOOK_CA_SECRET,
        duration: "87600h",
        renewBefore: "29200h",
        privateKey: ecdsa,
        issuerRef: { kind: "Issuer", name: SELF_SIGNED_ISSUER },
      },
    },
    { apiVersion: CERT_MANAGER, kind: "Issuer", metadata: inSystem(CA_ISSUER), spec: { ca: { secretName: WEBHOOK_CA_SECRET } } },
    {
      apiVersion: CERT_MANAGER,
      kind: "Certificate",
      metadata: inSystem(SERVING_CERTIFICATE),
      spec: {
        secretName: WEBHOOK_TLS_SECRET,
        dnsNames: serviceDnsNames(WEBHOOK_SERVICE_NAME, DEFAULT_SYSTEM_NAMESPACE),
        duration: "8760h",
        renewBefore: "2920h",
        usages: ["server auth", "digital signature"],
        privateKey: ecdsa,
        issuerRef: { kind: "Issuer", name: CA_ISSUER },
      },
    },
  ];
}
