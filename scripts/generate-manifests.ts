// Writes the generated manifests under deploy/ from their TypeScript source.
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { DEFAULT_ADMISSION_SETTINGS } from "../webhook/settings.ts";
import { DEPLOY_ADMISSION_FILES, renderDeployAdmission } from "../webhook/deploy-manifests.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const rendered = renderDeployAdmission(DEFAULT_ADMISSION_SETTINGS);
for (const key of Object.keys(DEPLOY_ADMISSION_FILES) as (keyof typeof DEPLOY_ADMISSION_FILES)[]) {
  await writeFile(`${root}${DEPLOY_ADMISSION_FILES[key]}`, rendered[key]);
  process.stdout.write(`wrote ${DEPLOY_ADMISSION_FILES[key]}\n`);
}
