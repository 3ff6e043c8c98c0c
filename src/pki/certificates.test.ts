import { X509Certificate, createPrivateKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createCertificateAuthority, createCertificateSigningRequest, generateKeyPair, issueCertificate, loadCertificateAuthority } from "./certificates.ts";
import { x509 } from "./x509.ts";

describe("certificates", () => {
  it("issues a server certificate that verifies against its CA and carries the SANs", async () => {
    const ca = await createCertificateAuthority("test-ca", 1);
    const issued = await issueCertificate(ca, {
      commonName: "kube-apiserver",
      dnsNames: ["localhost"],
      ipAddresses: ["127.0.0.1"],
      usage: "server",
      validForDays: 1,
    });
    const cert = new X509Certificate(issued.certPem);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(cert.checkHost("localhost")).toBe("localhost");
    expect(cert.ca).toBe(false);
    expect(new X509Certificate(ca.certPem).ca).toBe(true);
    expect(() => createPrivateKey(issued.keyPem)).not.toThrow();
  });

  it("puts organizations into the subject as O= entries (Kubernetes groups)", async () => {
    const ca = await createCertificateAuthority("test-ca", 1);
    const issued = await issueCertificate(ca, { commonName: "admin", organizations: ["system:masters"], usage: "client", validForDays: 1 });
    expect(new X509Certificate(issued.certPem).subject).toBe("CN=admin\nO=system:masters");
  });

  it("creates a PKCS#10 request with the node identity", async () => {
    const keys = await generateKeyPair();
    const pem = await createCertificateSigningRequest(keys, "system:node:n1", ["system:nodes"]);
    const csr = new x509.Pkcs10CertificateRequest(pem);
    expect(csr.subject).toBe("CN=system:node:n1, O=system:nodes");
    expect(await csr.verify()).toBe(true);
  });

  it("keeps a certificate valid for seconds mostly in the future: the backdate is at most a tenth of its life", async () => {
    const before = Date.now();
    const ca = await createCertificateAuthority("short-ca", 20 / 86_400);
    const cert = new X509Certificate(ca.certPem);
    expect(cert.validToDate.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 19_000);
    expect(cert.validToDate.getTime() - cert.validFromDate.getTime()).toBeLessThanOrEqual(23_000);
    expect(cert.validFromDate.getTime()).toBeLessThanOrEqual(before);
    const long = new X509Certificate((await createCertificateAuthority("long-ca", 1)).certPem);
    expect(before - long.validFromDate.getTime()).toBeGreaterThanOrEqual(4 * 60_000);
  });

  it("loads a stored CA and issues certificates that verify against it", async () => {
    const stored = await createCertificateAuthority("stored-ca", 1);
    const loaded = await loadCertificateAuthority(stored.certPem, stored.keyPem);
    const issued = await issueCertificate(loaded, { commonName: "svc", dnsNames: ["svc.ns.svc"], usage: "server", validForDays: 1 });
    const cert = new X509Certificate(issued.certPem);
    expect(cert.checkIssued(new X509Certificate(stored.certPem))).toBe(true);
    expect(cert.verify(new X509Certificate(stored.certPem).publicKey)).toBe(true);
  });
});
