import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { KubeConfig } from "@kubernetes/client-node";
import { DEFAULT_CONTROLLER_SERVICE_ACCOUNT, DEFAULT_SYSTEM_NAMESPACE } from "../../src/api/names.ts";
import { startComponentProcess, type ComponentProcess } from "../../src/devcluster/component-process.ts";
import { registerAdmission, unregisterAdmission, writeLoopbackServingCertificate } from "../../src/devcluster/admission.ts";
import { freeLoopbackPort } from "../../src/devcluster/ports.ts";
import { serviceAccountKubeConfig } from "../../src/devcluster/service-account.ts";
import { MUTATE_PODS_PATH } from "../../webhook/handler.ts";
import { DEFAULT_ADMISSION_SETTINGS } from "../../webhook/settings.ts";

const CLI = fileURLToPath(new URL("../../bin/maroonedpods.js", import.meta.url));
const READY_TIMEOUT_MS = 60_000;

export type { ComponentProcess };

/** Runs a `maroonedpods` subcommand (of this checkout, or of `cli`) as its own process and waits for its JSON ready line. */
export function startComponent(
  command: string,
  args: readonly string[],
  options: { cli?: string; readyTimeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ComponentProcess> {
  return startComponentProcess(options.cli ?? CLI, [command, ...args], options.readyTimeoutMs ?? READY_TIMEOUT_MS, options.env);
}

export interface Stack {
  readonly webhook: ComponentProcess;
  controller: ComponentProcess;
  readonly controllerArgs: readonly string[];
  stop(): Promise<void>;
}

/**
 * The webhook and the controller as separate processes, as in production: the
 * webhook registered with its policies, the controller authenticated as its
 * ServiceAccount (RBAC from deploy/rbac/, installed by the global setup).
 */
export async function startStack(admin: KubeConfig, controllerFlags: readonly string[] = []): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), "maroonedpods-stack-"));
  const tls = await writeLoopbackServingCertificate(dir);
  const port = await freeLoopbackPort();
  const webhook = await startComponent("webhook", [
    `--tls-cert-file=${tls.certFile}`, `--tls-key-file=${tls.keyFile}`, "--bind-address=127.0.0.1", `--port=${port}`,
    "--ops-bind-address=127.0.0.1", "--ops-port=0", "--log-level=warn",
  ]);
  await registerAdmission(admin, DEFAULT_ADMISSION_SETTINGS, { url: `https://127.0.0.1:${port}${MUTATE_PODS_PATH}`, caPem: tls.caPem });
  const controllerKubeConfig = await serviceAccountKubeConfig(admin, { namespace: DEFAULT_SYSTEM_NAMESPACE, name: DEFAULT_CONTROLLER_SERVICE_ACCOUNT });
  const kubeconfigPath = join(dir, "controller.kubeconfig");
  await writeFile(kubeconfigPath, controllerKubeConfig.exportConfig(), { mode: 0o600 });
  const controllerArgs = [`--kubeconfig=${kubeconfigPath}`, "--ops-bind-address=127.0.0.1", "--ops-port=0", "--log-level=warn", ...controllerFlags];
  const stack: Stack = {
    webhook,
    controller: await startComponent("controller", controllerArgs),
    controllerArgs,
    async stop() {
      await stack.controller.stop();
      await unregisterAdmission(admin);
      await webhook.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return stack;
}
