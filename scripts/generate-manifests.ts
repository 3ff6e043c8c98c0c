// Writes the generated files from their TypeScript source: deploy/ (and crds/kustomization.yaml),
// the Helm chart in charts/maroonedpods/, and the rule file and dashboard in deploy/monitoring/.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { renderChartFiles } from "../src/chart/chart.ts";
import { renderDeployFiles } from "../src/install/bundle.ts";
import { renderMonitoringFiles } from "../src/observability/files.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
for (const [path, text] of Object.entries({ ...renderDeployFiles(), ...renderChartFiles(), ...renderMonitoringFiles() })) {
  await mkdir(dirname(`${root}${path}`), { recursive: true });
  await writeFile(`${root}${path}`, text);
  process.stdout.write(`wrote ${path}\n`);
}
