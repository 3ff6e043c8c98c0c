// Writes the generated manifests under deploy/ (and crds/kustomization.yaml) from their TypeScript source.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { renderDeployFiles } from "../src/install/bundle.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
for (const [path, text] of Object.entries(renderDeployFiles())) {
  await mkdir(dirname(`${root}${path}`), { recursive: true });
  await writeFile(`${root}${path}`, text);
  process.stdout.write(`wrote ${path}\n`);
}
