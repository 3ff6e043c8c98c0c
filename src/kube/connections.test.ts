import { HttpMethod, RequestContext } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { kubeConfigFor } from "./kubeconfig.ts";
import { shareConnections } from "./connections.ts";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

async function dispatcherOfOneRequest(kubeConfig: ReturnType<typeof kubeConfigFor>): Promise<unknown> {
  const context = new RequestContext("https://127.0.0.1:6443/api/v1/namespaces", HttpMethod.GET);
  await kubeConfig.applySecurityAuthentication(context);
  return context.getDispatcher();
}

describe("shareConnections", () => {
  const config = () => kubeConfigFor({ clusterName: "c", server: "https://127.0.0.1:6443", caPem: CA, user: { name: "u", token: "t" } });

  it("documents the client-node behaviour it works around: a new dispatcher per request", async () => {
    const kubeConfig = config();
    expect(await dispatcherOfOneRequest(kubeConfig)).not.toBe(await dispatcherOfOneRequest(kubeConfig));
  });

  it("gives every request of the same cluster and user one dispatcher", async () => {
    const kubeConfig = shareConnections(config());
    const first = await dispatcherOfOneRequest(kubeConfig);
    expect(first).toBeDefined();
    expect(await dispatcherOfOneRequest(kubeConfig)).toBe(first);
  });
});
