import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { kubeConfigFor, renderKubeconfig, type KubeconfigUser } from "./kubeconfig.ts";

const caPem = "-----BEGIN CERTIFICATE-----\nMIIBcA==\n-----END CERTIFICATE-----\n";
const certPem = "-----BEGIN CERTIFICATE-----\nMIIBcB==\n-----END CERTIFICATE-----\n";
const keyPem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQ==\n-----END EC PRIVATE KEY-----\n";
const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

describe("renderKubeconfig and kubeConfigFor", () => {
  it.each<[string, KubeconfigUser, { token?: string; certData?: string; keyData?: string }]>([
    ["a token user", { name: "maroonedpods", token: "abcdef.0123456789abcdef" }, { token: "abcdef.0123456789abcdef" }],
    ["a client-certificate user", { name: "admin", clientCertificatePem: certPem, clientKeyPem: keyPem }, { certData: b64(certPem), keyData: b64(keyPem) }],
  ])("round-trips the server, the CA and %s", (_name, user, credentials) => {
    const options = { clusterName: "dev", server: "https://127.0.0.1:6443", caPem, user };
    const kubeConfig = kubeConfigFor(options);

    expect(kubeConfig.getCurrentContext()).toBe(`${user.name}@dev`);
    const cluster = kubeConfig.getCurrentCluster();
    expect(cluster?.name).toBe("dev");
    expect(cluster?.server).toBe("https://127.0.0.1:6443");
    expect(Buffer.from(cluster?.caData ?? "", "base64").toString("utf8")).toBe(caPem);

    const loaded = kubeConfig.getCurrentUser();
    expect(loaded?.name).toBe(user.name);
    expect({ token: loaded?.token, certData: loaded?.certData, keyData: loaded?.keyData }).toEqual({
      token: undefined,
      certData: undefined,
      keyData: undefined,
      ...credentials,
    });
  });

  it("writes a self-contained kubeconfig with certificates inline and no empty credentials", () => {
    const doc = parse(renderKubeconfig({ clusterName: "dev", server: "https://10.0.0.1:6443", caPem, user: { name: "kubelet", token: "t0k" } })) as unknown;
    expect(doc).toEqual({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "dev", cluster: { server: "https://10.0.0.1:6443", "certificate-authority-data": b64(caPem) } }],
      users: [{ name: "kubelet", user: { token: "t0k" } }],
      contexts: [{ name: "kubelet@dev", context: { cluster: "dev", user: "kubelet" } }],
      "current-context": "kubelet@dev",
    });
  });
});
