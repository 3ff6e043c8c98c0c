import { describe, expect, it } from "vitest";
import schema from "../../images/node/join-info.schema.json" with { type: "json" };
import { JOIN_INFO_VERSION, JOIN_METHODS, QUALIFIED_NAME_PATTERN, SERVER_URL_PATTERN, TAINT_EFFECTS, type JoinInfo } from "./join-info.ts";

/** Every field of the TypeScript type, so the compiler says when the type gains or loses one. */
const SAMPLE: Record<keyof JoinInfo, true> = {
  version: true,
  join_method: true,
  server_url: true,
  token: true,
  ca_cert_hash: true,
  node_name: true,
  pod_uid: true,
  taint_key: true,
  labels: true,
  taints: true,
};

function patternsOf(node: unknown): string[] {
  if (typeof node !== "object" || node === null) return [];
  const own = "pattern" in node && typeof node.pattern === "string" ? [node.pattern] : [];
  return [...own, ...Object.values(node).flatMap(patternsOf)];
}

describe("the TypeScript contract matches the JSON Schema", () => {
  it("has the schema's fields, all required but pod_uid (a warm pool node joins without one)", () => {
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(SAMPLE).sort());
    expect([...schema.required].sort()).toEqual(Object.keys(SAMPLE).filter((k) => k !== "pod_uid").sort());
  });

  it("has the schema's version, join methods and taint effects", () => {
    expect(schema.properties.version.const).toBe(JOIN_INFO_VERSION);
    expect(schema.properties.join_method.enum).toEqual(JOIN_METHODS);
    expect(schema.properties.taints.items.properties.effect.enum).toEqual(TAINT_EFFECTS);
  });

  it("exports the schema's patterns", () => {
    expect(SERVER_URL_PATTERN).toEqual(new RegExp(schema.properties.server_url.pattern, "u"));
    expect(QUALIFIED_NAME_PATTERN).toEqual(new RegExp(schema.$defs.qualifiedName.pattern, "u"));
  });

  // The Python helper matches with re.fullmatch: the same as JavaScript only for anchored patterns
  // in the syntax both share (no \d, \w, \s, whose Python meaning includes non-ASCII characters).
  it.each(patternsOf(schema))("anchors %s and keeps to ASCII classes", (pattern) => {
    expect(pattern.startsWith("^") && pattern.endsWith("$")).toBe(true);
    expect(pattern).not.toMatch(/\\[dDwWsSbB]/);
  });
});
