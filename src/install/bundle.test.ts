import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MAROONED_NODE_LABEL, WEBHOOK_CA_SECRET, WEBHOOK_TLS_SECRET } from "../api/names.ts";
import { SPEC_DEFAULTS } from "../controller/config.ts";
import { parseMemoryBytes } from "../kube/quantity.ts";
import { installObjects, renderDeployFiles, type KubeObject } from "./bundle.ts";
import { CONTROLLER_NODE_OPTIONS, DEFAULT_IMAGE } from "./workloads.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
type Container = { name: string; args: string[]; securityContext: Record<string, unknown>; volumeMounts: { name: string }[] };
type PodSpec = { containers: Container[]; securityContext: Record<string, unknown>; automountServiceAccountToken: boolean; volumes: { name: string; secret?: { secretName: string } }[] };

const ofKind = (objects: KubeObject[], kind: string) => objects.filter((o) => o.kind === kind);
const podSpecs = (objects: KubeObject[]) => ofKind(objects, "Deployment").map((d) => (d as { spec: { template: { spec: PodSpec } } }).spec.template.spec);
const named = (objects: KubeObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && (o.metadata as { name: string }).name === name);

describe("the install bundle", () => {
  it("deploy/ and crds/kustomization.yaml hold exactly what the generator renders", async () => {
    for (const [path, text] of Object.entries(renderDeployFiles())) {
      expect(await readFile(`${root}${path}`, "utf8"), `${path} is stale: run npm run generate:manifests`).toBe(text);
    }
  });

  it("runs every container restricted: non-root, read-only root, no capabilities, RuntimeDefault seccomp", () => {
    const specs = podSpecs(installObjects("self-managed"));
    expect(specs).toHaveLength(2);
    for (const spec of specs) {
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
      for (const container of spec.containers) {
        expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
      }
    }
  });

  it("runs the image it is given in both Deployments, the release image by default", () => {
    const images = (objects: KubeObject[]) => podSpecs(objects).map((s) => (s.containers[0] as unknown as { image: string }).image);
    expect(images(installObjects("self-managed"))).toEqual([DEFAULT_IMAGE, DEFAULT_IMAGE]);
    expect(images(installObjects("cert-manager", "registry.example/maroonedpods:dev"))).toEqual(["registry.example/maroonedpods:dev", "registry.example/maroonedpods:dev"]);
  });

  it("gives the webhook no API token and only the serving pair, never the CA key", () => {
    const webhook = podSpecs(installObjects("self-managed")).find((s) => s.containers[0]?.name === "webhook");
    expect(webhook?.automountServiceAccountToken).toBe(false);
    const secrets = webhook?.volumes.flatMap((v) => (v.secret ? [v.secret.secretName] : []));
    expect(secrets).toEqual([WEBHOOK_TLS_SECRET]);
    expect(JSON.stringify(webhook)).not.toContain(WEBHOOK_CA_SECRET);
  });

  it("lets the controller manage certificates unless cert-manager does, and then grants it nothing for them", () => {
    const selfManaged = installObjects("self-managed");
    const certManager = installObjects("cert-manager");
    const controllerArgs = (objects: KubeObject[]) => podSpecs(objects).find((s) => s.containers[0]?.name === "controller")?.containers[0]?.args;
    expect(controllerArgs(selfManaged)).toContain("--manage-webhook-certificate=true");
    expect(controllerArgs(certManager)).toContain("--manage-webhook-certificate=false");
    expect(named(certManager, "Role", "maroonedpods-controller-webhook-certificates")).toBeUndefined();
    expect(named(certManager, "ClusterRole", "maroonedpods-controller-webhook-certificates")).toBeUndefined();
    expect(ofKind(certManager, "Certificate")).toHaveLength(2);
    expect(ofKind(selfManaged, "Certificate")).toHaveLength(0);
  });

  it("bounds the controller's heap well inside its memory limit", () => {
    const controller = podSpecs(installObjects("self-managed")).find((s) => s.containers[0]?.name === "controller")?.containers[0] as unknown as { env: { name: string; value: string }[]; resources: { limits: { memory: string } } };
    expect(controller.env).toEqual([{ name: "NODE_OPTIONS", value: CONTROLLER_NODE_OPTIONS }]);
    const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(CONTROLLER_NODE_OPTIONS)?.[1]);
    expect(heapMiB * 2).toBeLessThanOrEqual(parseMemoryBytes(controller.resources.limits.memory) / 2 ** 20);
  });

  it("binds the RuntimeClass to marooned nodes, with the VM overhead as pod overhead", () => {
    const runtimeClass = named(installObjects("self-managed"), "RuntimeClass", "marooned");
    expect(runtimeClass).toMatchObject({ handler: "runc", scheduling: { nodeSelector: { [MAROONED_NODE_LABEL]: "true" } }, overhead: { podFixed: SPEC_DEFAULTS.resourceOverhead } });
  });

  it("registers the mutating webhook last, after the workloads it calls", () => {
    const objects = installObjects("self-managed");
    expect(objects.at(-1)?.kind).toBe("MutatingWebhookConfiguration");
    expect(objects.findIndex((o) => o.kind === "Namespace")).toBe(0);
  });

  it("never grants the controller wildcards, and names a resource wherever RBAC can", () => {
    const rules = [...ofKind(installObjects("self-managed"), "ClusterRole"), ...ofKind(installObjects("self-managed"), "Role")].flatMap(
      (r) => (r as { rules: { verbs: string[]; resources: string[]; resourceNames?: string[] }[] }).rules,
    );
    for (const rule of rules) {
      expect(rule.verbs).not.toContain("*");
      expect(rule.resources).not.toContain("*");
      // Without a name only create (which RBAC cannot restrict by name) or collection verbs are allowed on secrets.
      if (rule.resources.includes("secrets") && !rule.resourceNames) expect(rule.verbs.every((v) => ["create", "get", "list", "watch", "delete"].includes(v))).toBe(true);
    }
  });
});
