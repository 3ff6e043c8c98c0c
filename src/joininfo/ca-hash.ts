import { createHash, createPublicKey } from "node:crypto";
import type { JoinMethod } from "./join-info.ts";

/**
 * `sha256:<hex>` of the certificate's SubjectPublicKeyInfo: kubeadm's caCertHashes format. With node:crypto, not
 * @peculiar/x509: a controller that manages no webhook certificates never loads that.
 */
export function publicKeyPinOf(certPem: string): string {
  return `sha256:${createHash("sha256").update(createPublicKey(certPem).export({ type: "spki", format: "der" })).digest("hex")}`;
}

/**
 * The join info's ca_cert_hash, as the node's agent will check it: kubeadm pins
 * the CA's public key (caCertHashes, sha256 of its SubjectPublicKeyInfo); a k3s
 * agent hashes the CA bundle the server serves (the `K10<hash>::` token prefix,
 * sha256 of the PEM text).
 */
export function caCertHashFor(joinMethod: JoinMethod, caPem: string): string {
  return joinMethod === "kubeadm" ? publicKeyPinOf(caPem) : `sha256:${createHash("sha256").update(caPem, "utf8").digest("hex")}`;
}
