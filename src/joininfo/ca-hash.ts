import { createHash } from "node:crypto";
import { publicKeyPinOf } from "../pki/certificates.ts";
import type { JoinMethod } from "./join-info.ts";

/**
 * The join info's ca_cert_hash, as the node's agent will check it: kubeadm pins
 * the CA's public key (caCertHashes, sha256 of its SubjectPublicKeyInfo); a k3s
 * agent hashes the CA bundle the server serves (the `K10<hash>::` token prefix,
 * sha256 of the PEM text).
 */
export function caCertHashFor(joinMethod: JoinMethod, caPem: string): string {
  return joinMethod === "kubeadm" ? publicKeyPinOf(caPem) : `sha256:${createHash("sha256").update(caPem, "utf8").digest("hex")}`;
}
