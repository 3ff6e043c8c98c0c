import { randomBytes, webcrypto } from "node:crypto";

type CryptoKey = webcrypto.CryptoKey;
import { x509 } from "./x509.ts";

/** ECDSA P-256: small keys, fast to generate, accepted by every Kubernetes component. */
const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export interface KeyPair {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  readonly keys: KeyPair;
  readonly cert: x509.X509Certificate;
}

export interface CertificateRequest {
  readonly commonName: string;
  readonly organizations?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly usage: "server" | "client" | "server+client";
  /** May be fractional: short-lived certificates (seconds) exercise rotation in tests. */
  readonly validForDays: number;
}

export async function generateKeyPair(): Promise<KeyPair> {
  return webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
}

export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

export async function publicKeyToPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("spki", key);
  return x509.PemConverter.encode(der, "PUBLIC KEY");
}

export async function importPrivateKeyPem(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return webcrypto.subtle.importKey("pkcs8", der, KEY_ALGORITHM, true, ["sign"]);
}

function distinguishedName(commonName: string, organizations: readonly string[] = []): x509.JsonName {
  return [{ CN: [commonName] }, ...organizations.map((o) => ({ O: [o] }))];
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  const lifetimeMs = days * 86_400_000;
  // Backdate a little so a peer with a slightly slow clock still accepts it; a tenth at most, so a
  // certificate valid for seconds does not spend most of its life before it was made.
  const backdateMs = Math.min(5 * 60_000, lifetimeMs / 10);
  return { notBefore: new Date(now - backdateMs), notAfter: new Date(now + lifetimeMs) };
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive INTEGER
  return bytes.toString("hex");
}

/** A CA whose PEM certificate and PKCS#8 P-256 key were stored, ready to issue with. */
export async function loadCertificateAuthority(certPem: string, keyPem: string): Promise<IssuedCertificate> {
  const cert = new x509.X509Certificate(certPem);
  const publicKey = await webcrypto.subtle.importKey("spki", cert.publicKey.rawData, KEY_ALGORITHM, true, ["verify"]);
  const keys = { privateKey: await importPrivateKeyPem(keyPem), publicKey };
  return { cert, keys, certPem, keyPem };
}

/** `validForDays` may be fractional, as in CertificateRequest. */
export async function createCertificateAuthority(commonName: string, validForDays: number): Promise<IssuedCertificate> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: distinguishedName(commonName),
    ...validity(validForDays),
    keys,
    signingAlgorithm: KEY_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys, certPem: cert.toString("pem"), keyPem: await privateKeyToPem(keys.privateKey) };
}

function extendedKeyUsages(usage: CertificateRequest["usage"]): string[] {
  switch (usage) {
    case "server":
      return [x509.ExtendedKeyUsage.serverAuth];
    case "client":
      return [x509.ExtendedKeyUsage.clientAuth];
    case "server+client":
      return [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
  }
}

export async function issueCertificate(ca: IssuedCertificate, request: CertificateRequest): Promise<IssuedCertificate> {
  const keys = await generateKeyPair();
  const altNames: x509.JsonGeneralName[] = [
    ...(request.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(request.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(extendedKeyUsages(request.usage)),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
  ];
  if (altNames.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(altNames));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: distinguishedName(request.commonName, request.organizations),
    issuer: ca.cert.subjectName,
    ...validity(request.validForDays),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: KEY_ALGORITHM,
    extensions,
  });
  return { cert, keys, certPem: cert.toString("pem"), keyPem: await privateKeyToPem(keys.privateKey) };
}

/** A PKCS#10 request, as a kubelet sends in a CertificateSigningRequest. */
export async function createCertificateSigningRequest(
  keys: KeyPair,
  commonName: string,
  organizations: readonly string[],
): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: distinguishedName(commonName, organizations),
    keys,
    signingAlgorithm: KEY_ALGORITHM,
  });
  return csr.toString("pem");
}
