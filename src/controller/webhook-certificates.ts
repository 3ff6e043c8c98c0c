import { createPrivateKey, X509Certificate } from "node:crypto";
import { isIP } from "node:net";

/**
 * Decides the next write that keeps the webhook's self-managed certificates
 * healthy: the CA (Secret the webhook never mounts), the caBundle the API
 * server trusts, and the serving pair the webhook mounts. One step per call;
 * the orchestrator performs it, re-reads, and asks again.
 */

/** Keys of both Secrets (kubernetes.io/tls), plus the CA Secret's trust bundle: newest CA first, then older ones still valid. */
export const SECRET_KEYS = { cert: "tls.crt", key: "tls.key", caBundle: "ca-bundle.crt" } as const;

export type SecretData = Readonly<Record<string, string>>;

export interface WebhookCertificateState {
  readonly now: number;
  /** Decoded data of the CA Secret; undefined when it does not exist. */
  readonly caSecret: SecretData | undefined;
  /** Decoded data of the serving Secret; undefined when it does not exist. */
  readonly servingSecret: SecretData | undefined;
  /** Each webhook's decoded caBundle (empty string when unset); undefined when the configuration does not exist. */
  readonly caBundles: readonly string[] | undefined;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

export type WebhookCertificateStep =
  /** Make a new CA; its Secret's bundle is the new CA followed by `keep` (older CAs still valid). */
  | { readonly kind: "rotateCa"; readonly reason: string; readonly keep: string }
  /** Set every webhook's caBundle to `bundle`. */
  | { readonly kind: "patchCaBundle"; readonly bundle: string }
  /** Issue a serving pair from the CA in the CA Secret. */
  | { readonly kind: "issueServing"; readonly reason: string; readonly caCertPem: string; readonly caKeyPem: string }
  | { readonly kind: "upToDate"; readonly caNotAfter: number; readonly servingNotAfter: number };

/** The names the API server may use for the Service: `svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

/** Each certificate of a PEM bundle, normalised to end in one newline; text between blocks is ignored. */
export function splitPemCertificates(bundle: string): string[] {
  return [...bundle.matchAll(PEM_CERTIFICATE)].map((m) => `${m[0]}\n`);
}

function parse(pem: string | undefined): X509Certificate | undefined {
  if (pem === undefined) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** Past two thirds of its life (or expired): rotating then leaves a third for the new one to spread. */
function renewalDue(cert: X509Certificate, now: number): boolean {
  const notBefore = cert.validFromDate.getTime();
  const notAfter = cert.validToDate.getTime();
  return now >= notBefore + ((notAfter - notBefore) * 2) / 3;
}

const isValidAt = (cert: X509Certificate, now: number): boolean => cert.validFromDate.getTime() <= now && now < cert.validToDate.getTime();

/** Why the certificate and key cannot be used together, or undefined. */
function keyProblem(cert: X509Certificate, keyPem: string | undefined): string | undefined {
  if (keyPem === undefined) return "key missing";
  try {
    const key = createPrivateKey(keyPem);
    // The CA is loaded back into WebCrypto as ECDSA P-256, the only kind this project makes.
    if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") return "key is not ECDSA P-256";
    return cert.checkPrivateKey(key) ? undefined : "key does not match the certificate";
  } catch {
    return "key unparseable";
  }
}

interface UsableCa {
  readonly cert: X509Certificate;
  readonly certPem: string;
  readonly keyPem: string;
}

/** The stored CA, or why a new one is needed. */
function storedCa(data: SecretData | undefined, now: number): UsableCa | { readonly problem: string } {
  if (data === undefined) return { problem: "CA Secret missing" };
  const certPem = splitPemCertificates(data[SECRET_KEYS.cert] ?? "")[0];
  const cert = parse(certPem);
  if (certPem === undefined || cert === undefined) return { problem: "CA certificate missing or unparseable" };
  if (!cert.ca) return { problem: "CA certificate is not a CA" };
  const keyPem = data[SECRET_KEYS.key];
  const key = keyProblem(cert, keyPem);
  if (key !== undefined || keyPem === undefined) return { problem: `CA ${key ?? "key missing"}` };
  if (renewalDue(cert, now)) return { problem: "CA past two thirds of its lifetime" };
  return { cert, certPem, keyPem };
}

/** The CAs of a bundle that are valid at `now`, in order, each once, leaving out `except`. */
function validCas(bundle: string, now: number, except?: X509Certificate): string[] {
  const seen = new Set(except ? [except.fingerprint256] : []);
  const kept: string[] = [];
  for (const pem of splitPemCertificates(bundle)) {
    const cert = parse(pem);
    if (!cert?.ca || !isValidAt(cert, now) || seen.has(cert.fingerprint256)) continue;
    seen.add(cert.fingerprint256);
    kept.push(pem);
  }
  return kept;
}

/** `::1`, `0:0:0:0:0:0:0:1` and `0::1` are one address; certificates spell IPv6 the long way. */
function canonicalIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

function subjectAltNames(cert: X509Certificate): string[] {
  // Node renders them as `DNS:a, IP Address:b`; DNS names and IPs contain neither ", " nor quotes.
  return (cert.subjectAltName ?? "")
    .split(", ")
    .filter((entry) => entry !== "")
    .map((entry) => (entry.startsWith("IP Address:") ? `IP:${canonicalIp(entry.slice("IP Address:".length))}` : entry));
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((x) => right.has(x));
};

function servingProblem(state: WebhookCertificateState, ca: X509Certificate): string | undefined {
  const data = state.servingSecret;
  if (data === undefined) return "serving Secret missing";
  const cert = parse(data[SECRET_KEYS.cert]);
  if (cert === undefined) return "serving certificate missing or unparseable";
  const key = keyProblem(cert, data[SECRET_KEYS.key]);
  if (key !== undefined) return `serving ${key}`;
  if (renewalDue(cert, state.now)) return "serving certificate past two thirds of its lifetime";
  const wanted = [...state.dnsNames.map((n) => `DNS:${n}`), ...state.ipAddresses.map((ip) => `IP:${canonicalIp(ip)}`)];
  if (!sameSet(subjectAltNames(cert), wanted)) return "serving certificate names differ from the wanted ones";
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return "serving certificate not signed by the newest CA";
  return undefined;
}

export function nextWebhookCertificateStep(state: WebhookCertificateState): WebhookCertificateStep {
  const caData = state.caSecret;
  const ca = storedCa(caData, state.now);
  if ("problem" in ca) {
    // The CA being replaced still signs the serving certificate in use: it stays trusted until it expires.
    const previous = `${caData?.[SECRET_KEYS.cert] ?? ""}\n${caData?.[SECRET_KEYS.caBundle] ?? ""}`;
    return { kind: "rotateCa", reason: ca.problem, keep: validCas(previous, state.now).join("") };
  }

  const bundle = [ca.certPem, ...validCas(caData?.[SECRET_KEYS.caBundle] ?? "", state.now, ca.cert)].join("");
  // A configuration that does not exist yet trusts nothing and calls nobody: the serving pair may be issued
  // regardless, so the webhook's Secret volume exists before `maroonedpods install` registers it.
  if (state.caBundles?.some((current) => current !== bundle)) return { kind: "patchCaBundle", bundle };

  const servingReason = servingProblem(state, ca.cert);
  if (servingReason !== undefined) return { kind: "issueServing", reason: servingReason, caCertPem: ca.certPem, caKeyPem: ca.keyPem };
  const serving = parse(state.servingSecret?.[SECRET_KEYS.cert]);
  return { kind: "upToDate", caNotAfter: ca.cert.validToDate.getTime(), servingNotAfter: serving?.validToDate.getTime() ?? 0 };
}
