import { createHash, createPublicKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createCertificateAuthority } from "../pki/certificates.ts";
import { x509 } from "../pki/x509.ts";
import { caCertHashFor, publicKeyPinOf } from "./ca-hash.ts";

describe("caCertHashFor", () => {
  it("pins the public key for kubeadm and hashes the PEM text for k3s", async () => {
    const { certPem } = await createCertificateAuthority("test-ca", 1);
    const spki = createPublicKey(certPem).export({ type: "spki", format: "der" });
    expect(caCertHashFor("kubeadm", certPem)).toBe(`sha256:${createHash("sha256").update(spki).digest("hex")}`);
    expect(caCertHashFor("k3s", certPem)).toBe(`sha256:${createHash("sha256").update(certPem).digest("hex")}`);
    expect(caCertHashFor("k3s", certPem)).not.toBe(caCertHashFor("kubeadm", certPem));
  });

  it("pins the same SubjectPublicKeyInfo as @peculiar/x509 reads", async () => {
    const { certPem } = await createCertificateAuthority("test-ca", 1);
    const spki = new Uint8Array(new x509.X509Certificate(certPem).publicKey.rawData);
    expect(publicKeyPinOf(certPem)).toBe(`sha256:${createHash("sha256").update(spki).digest("hex")}`);
  });
});
