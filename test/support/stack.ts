import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { KubeConfig } from "@kubernetes/client-node";
import { DEFAULT_CONTROLLER_SERVICE_ACCOUNT, DEFAULT_SYSTEM_NAMESPACE } from "../../src/api/names.ts";
import { registerAdmission, unregisterAdmission, writeLoopbackServingCertificate } from "../../src/devcluster/admission.ts";
import { freeLoopbackPort } from "../../src/devcluster/ports.ts";
import { serviceAccountKubeConfig } from "../../src/devcluster/service-account.ts";
import { MUTATE_PODS_PATH } from "../../webhook/handler.ts";
import { DEFAULT_ADMISSION_SETTINGS } from "../../webhook/settings.ts";

const CLI = fileURLToPath(new URL("../../bin/maroonedpods.js", import.meta.url));

export interface ComponentProcess {
  readonly pid: number;
  /** The component's JSON ready line, e.g. its ports. */
  readonly ready: Readonly<Record<string, unknown>>;
  /** Sends the signal and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs a `maroonedpods` subcommand as its own process and waits for its JSON ready line. */
export async function startComponent(command: string, args: readonly string[], options: { cli?: string } = {}): Promise<ComponentProcess> {
  const child: ChildProcess = spawn(process.execPath, [options.cli ?? CLI, command, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => { resolve(code); }));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split("\n").find((l) => l.includes('"ready":true'));
      if (line) resolve(JSON.parse(line) as Record<string, unknown>);
    });
    void exited.then((code) => { reject(new Error(`maroonedpods ${command} exited with ${code} before it was ready:\n${stderr}`)); });
  });
  return {
    pid: child.pid ?? -1,
    ready,
    stop: async (signal = "SIGTERM") => {
      child.kill(signal);
      return exited;
    },
  };
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
