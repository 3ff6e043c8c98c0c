import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { SPEC_DEFAULTS, WARM_POOL_DEFAULTS } from "./config.ts";

const CRD = fileURLToPath(new URL("../../crds/maroonedpodsconfigs.maroonedpods.io.yaml", import.meta.url));

interface Schema {
  default?: unknown;
  properties?: Record<string, Schema>;
}

describe("the MaroonedPodsConfig CRD", () => {
  it("defaults every field (and warmPool's) exactly as the controller does when the object is absent", async () => {
    const crd = parse(await readFile(CRD, "utf8")) as { spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } };
    const spec = crd.spec.versions[0]?.schema.openAPIV3Schema.properties?.spec;
    const schemaDefaults = Object.fromEntries(Object.entries(spec?.properties ?? {}).map(([field, schema]) => [field, schema.default]));
    expect(schemaDefaults).toEqual({ ...SPEC_DEFAULTS, apiServerEndpoint: undefined });
    const warmPool = Object.entries(spec?.properties?.warmPool?.properties ?? {}).flatMap(([field, schema]) => (schema.default === undefined ? [] : [[field, schema.default]]));
    expect(Object.fromEntries(warmPool)).toEqual(WARM_POOL_DEFAULTS);
  });
});
