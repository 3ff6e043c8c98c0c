import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { pollUntil } from "../src/util/poll.ts";
import { requireKubectl } from "./support/kubectl.ts";
import { descendantsOf, isAlive } from "./support/processes.ts";

const CLI = fileURLToPath(new URL("../bin/maroonedpods.js", import.meta.url));


describe("maroonedpods dev", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("serves a cluster kubectl can use, and SIGTERM leaves no process behind", async () => {
    const kubectl = requireKubectl();
    const dir = await mkdtemp(join(tmpdir(), "maroonedpods-dev-test-"));
    dirs.push(dir);
    const kubeconfig = join(dir, "kubeconfig");
    const child = spawn(process.execPath, [CLI, "dev", "--kubeconfig-out", kubeconfig, "--vm-boot-delay", "0s", "--log-format", "json"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => { resolve(code); }));

    const ready = await Promise.race([
      new Promise<true>((resolve) => {
        const check = setInterval(() => {
          if (stdout.includes("ready")) {
            clearInterval(check);
            resolve(true);
          }
        }, 100);
        void exited.then(() => { clearInterval(check); });
      }),
      exited.then((code) => new Error(`dev exited early with ${code}:\n${stderr}`)),
    ]);
    if (ready instanceof Error) throw ready;
    expect(stdout).toMatch(/^maroonedpods dev: ready in [\d.]+s; Kubernetes v1\.35\.\d+ at https:\/\/127\.0\.0\.1:\d+;/);
    expect(stderr).toMatch(/starting kube-apiserver/);

    const output = execFileSync(kubectl, ["--kubeconfig", kubeconfig, "get", "nodes,crd", "-o", "name"], { encoding: "utf8" });
    expect(output).toContain("customresourcedefinition.apiextensions.k8s.io/virtualmachineinstances.kubevirt.io");

    // The webhook runs in-process and is registered: a selected pod comes back gated.
    const gate = await pollUntil(
      "a dry-run pod to be gated",
      () =>
        Promise.resolve(execFileSync(kubectl, ["--kubeconfig", kubeconfig, "run", "gated", "--image=registry.example/app:1", "--labels=maroonedpods.io/maroon=true",
          "--dry-run=server", "-o", "jsonpath={.spec.schedulingGates[*].name}"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }) || undefined),
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(gate).toBe("maroonedpods.io/vm-node");

    const pid = child.pid ?? -1;
    const descendants = descendantsOf(pid);
    expect(descendants.length).toBeGreaterThanOrEqual(5); // etcd, apiserver, controller-manager, scheduler, kwok
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const survivors = descendants.filter(isAlive);
    expect(survivors).toEqual([]);
  }, 300_000);

  it("rejects a bad flag with a one-line reason and exit code 2", () => {
    let failure: { status: number; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, [CLI, "dev", "--no-such-flag"], { encoding: "utf8", stdio: "pipe" });
    } catch (error) {
      failure = error as { status: number; stderr: string };
    }
    expect(failure?.status).toBe(2);
    expect(failure?.stderr.trim().split("\n")).toHaveLength(1);
    expect(failure?.stderr).toMatch(/Unknown option '--no-such-flag'/);
  });

  it("prints help for the program and the command", () => {
    const help = execFileSync(process.execPath, [CLI, "--help"], { encoding: "utf8" });
    for (const command of ["controller", "webhook", "dev"]) expect(help).toMatch(new RegExp(`\\n  ${command}\\s+\\S`));
    expect(execFileSync(process.execPath, [CLI, "dev", "--help"], { encoding: "utf8" })).toMatch(/--kubeconfig-out PATH/);
  });
});
