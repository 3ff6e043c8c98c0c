import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { DEFAULT_CONTROLLER_SERVICE_ACCOUNT, DEFAULT_SYSTEM_NAMESPACE } from "../../src/api/names.ts";
import { serviceAccountKubeConfig } from "../../src/devcluster/service-account.ts";
import { startComponent, type ComponentProcess } from "./stack.ts";

/**
 * `maroonedpods controller` as a process of its own, authenticated as the
 * controller's ServiceAccount (a TokenRequest token), so it holds exactly the
 * RBAC the installed manifests grant. Stopping it removes its kubeconfig.
 */
export async function startControllerAsServiceAccount(admin: KubeConfig, flags: readonly string[] = []): Promise<ComponentProcess> {
  const dir = await mkdtemp(join(tmpdir(), "maroonedpods-controller-"));
  const kubeconfig = join(dir, "controller.kubeconfig");
  try {
    const account = await serviceAccountKubeConfig(admin, { namespace: DEFAULT_SYSTEM_NAMESPACE, name: DEFAULT_CONTROLLER_SERVICE_ACCOUNT });
    await writeFile(kubeconfig, account.exportConfig(), { mode: 0o600 });
    const controller = await startComponent("controller", [`--kubeconfig=${kubeconfig}`, "--leader-elect=false", "--ops-bind-address=127.0.0.1", "--ops-port=0", "--log-level=warn", ...flags]);
    return {
      ...controller,
      async stop(signal) {
        try {
          return await controller.stop(signal);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
