import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CoreV1Api } from "@kubernetes/client-node";
import { MANAGED_LABEL, MANAGED_LABEL_VALUE } from "../src/api/names.ts";
import { adminKubeConfig, randomSuffix } from "./support/kube.ts";
import { requireKubectl } from "./support/kubectl.ts";
import { runCommand, type CommandResult } from "./support/processes.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const packageJson = (await import("../package.json", { with: { type: "json" } })).default as { bin: Record<string, string> };

let pluginDir: string;
let env: NodeJS.ProcessEnv;

/** kubectl as a user runs it, with the package's bin entry on PATH (and this Node.js first, as npm's bin links run it). */
const kubectl = (...args: string[]): Promise<CommandResult> => runCommand(requireKubectl(), args, { env });

beforeAll(async () => {
  pluginDir = await mkdtemp(join(tmpdir(), "maroonedpods-plugin-"));
  const entry = packageJson.bin["kubectl-maroonedpods"];
  if (!entry) throw new Error("package.json has no bin entry kubectl-maroonedpods");
  await symlink(join(ROOT, entry), join(pluginDir, "kubectl-maroonedpods"));
  env = { ...process.env, PATH: [pluginDir, dirname(process.execPath), process.env.PATH ?? ""].join(delimiter), KUBECONFIG: inject("kubeconfigPath") };
});

afterAll(async () => {
  await rm(pluginDir, { recursive: true, force: true });
});

describe("the kubectl plugin", () => {
  it("is found by kubectl as the plugin maroonedpods", async () => {
    const listed = await kubectl("plugin", "list");
    expect(listed.stdout).toContain(join(pluginDir, "kubectl-maroonedpods"));
  });

  it("offers status, doctor, install and uninstall, and nothing that runs a server", async () => {
    const help = await kubectl("maroonedpods", "--help");
    expect(help.code, help.stderr).toBe(0);
    const commands = [...help.stdout.matchAll(/^ {2}(\S+) {2,}/gm)].map((m) => m[1]);
    expect(commands).toEqual(["status", "doctor", "install", "uninstall"]);
    const refused = await kubectl("maroonedpods", "controller");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('kubectl maroonedpods: unknown command "controller"');
  });

  it("talks to the cluster of KUBECONFIG, as kubectl does: status lists marooned pods, install --dry-run validates", async () => {
    const core = adminKubeConfig().makeApiClient(CoreV1Api);
    // Labeled managed, without the gate or finalizer, in an infrastructure namespace the policies exempt:
    // nothing acts on it, status only lists it.
    const name = `listed-${randomSuffix()}`;
    await core.createNamespacedPod({ namespace: "kube-system", body: { metadata: { name, labels: { [MANAGED_LABEL]: MANAGED_LABEL_VALUE } }, spec: { containers: [{ name: "main", image: "registry.example/app:1" }] } } });
    try {
      const status = await kubectl("maroonedpods", "status", `kube-system/${name}`);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/^POD\s+VM\s+NODE\s+PHASE/);
      expect(status.stdout).toContain(`kube-system/${name}`);
    } finally {
      await core.deleteNamespacedPod({ namespace: "kube-system", name, gracePeriodSeconds: 0 });
    }
    const install = await kubectl("maroonedpods", "install", "--dry-run");
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout.trim().split("\n").at(-1)).toMatch(/^\d+ created, \d+ configured, \d+ unchanged \(dry run\)$/);
  });
});
