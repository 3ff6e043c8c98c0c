import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { serviceAccountKubeConfig } from "../src/devcluster/service-account.ts";
import { adminKubeConfig, createNamespace } from "./support/kube.ts";
import { startComponent } from "./support/stack.ts";

describe("controller start-up", () => {
  it("refuses to start, saying why, when its RBAC is missing, instead of waiting forever", async () => {
    const admin = adminKubeConfig();
    const namespace = await createNamespace(admin, "norbac");
    await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccount({ namespace, body: { metadata: { name: "powerless" } } });
    const dir = await mkdtemp(join(tmpdir(), "maroonedpods-preflight-"));
    try {
      const kubeconfig = join(dir, "kubeconfig");
      await writeFile(kubeconfig, (await serviceAccountKubeConfig(admin, { namespace, name: "powerless" })).exportConfig());
      await expect(startComponent("controller", [`--kubeconfig=${kubeconfig}`, "--leader-elect=false", "--ops-port=0"])).rejects.toThrow(
        /exited with 1[\s\S]*cannot start: the MaroonedPodsConfig CRD: access denied \(403\)[\s\S]*deploy\/rbac\/controller\.yaml/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
