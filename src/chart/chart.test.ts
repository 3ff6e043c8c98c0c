import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { DEFAULT_VM_NAMESPACE } from "../api/names.ts";
import { installObjects } from "../install/bundle.ts";
import { DEFAULT_IMAGE } from "../install/workloads.ts";
import { renderMonitoringFiles } from "../observability/files.ts";
import { CHART_DIR, renderChartFiles } from "./chart.ts";
import { createHoleSet } from "./holes.ts";
import { bundleChartObjects } from "./templates.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(join(root, dir), { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(root.length));
}

describe("the generated Helm chart and monitoring files", () => {
  it("charts/maroonedpods/ and deploy/monitoring/ hold exactly what the generator renders, and nothing else", async () => {
    const rendered = { ...renderChartFiles(), ...renderMonitoringFiles() };
    for (const [path, text] of Object.entries(rendered)) {
      expect(await readFile(`${root}${path}`, "utf8"), `${path} is stale: run npm run generate:manifests`).toBe(text);
    }
    expect([...(await filesUnder(CHART_DIR)), ...(await filesUnder("deploy/monitoring"))].sort()).toEqual(Object.keys(rendered).sort());
  });

  it("takes its default values from the bundle itself", () => {
    const values = parse(renderChartFiles()[`${CHART_DIR}/values.yaml`] ?? "") as { controller: { image: string; replicas: number }; webhook: { image: string }; vmNamespace: string };
    expect(values.controller.image).toBe(DEFAULT_IMAGE);
    expect(values.webhook.image).toBe(DEFAULT_IMAGE);
    const deployment = installObjects("self-managed").find((o) => o.kind === "Deployment") as { spec: { replicas: number } };
    expect(values.controller.replicas).toBe(deployment.spec.replicas);
    expect(values.vmNamespace).toBe(DEFAULT_VM_NAMESPACE);
  });

  it("covers every object of both certificate modes, each once, under the right condition", () => {
    const { objects } = bundleChartObjects(createHoleSet());
    const count = (mode: "self-managed" | "cert-manager") => objects.filter((o) => o.condition === undefined || o.condition.includes(`"${mode}"`)).length;
    expect(count("self-managed")).toBe(installObjects("self-managed").length);
    expect(count("cert-manager")).toBe(installObjects("cert-manager").length);
  });

  it("leaves no literal VM namespace in a template but the guard that compares with it", () => {
    const templates = Object.entries(renderChartFiles()).filter(([path]) => path.includes("/templates/") && !path.endsWith("/guards.yaml"));
    for (const [path, text] of templates) expect(text, path).not.toContain(DEFAULT_VM_NAMESPACE);
  });
});
