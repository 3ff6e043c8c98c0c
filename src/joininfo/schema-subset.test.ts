import { describe, expect, it } from "vitest";
import { schemaErrors, type SchemaNode } from "./schema-subset.ts";

const schema: SchemaNode = {
  type: "object",
  additionalProperties: false,
  required: ["name"],
  properties: {
    name: { $ref: "#/$defs/name" },
    tags: { type: "object", propertyNames: { $ref: "#/$defs/name" }, additionalProperties: { type: "string", maxLength: 3 } },
    items: { type: "array", items: { enum: ["a", "b"] } },
    count: { type: "integer", const: 1 },
  },
  $defs: { name: { type: "string", pattern: "^[a-z]+$" } },
};

describe("schemaErrors", () => {
  it("accepts a conforming document", () => {
    expect(schemaErrors(schema, { name: "x", tags: { ab: "abc" }, items: ["a", "b"], count: 1 }, "doc")).toEqual([]);
  });

  it.each<[string, unknown, string[]]>([
    ["a document of the wrong type, by its root name", [], ["doc: must be a map"]],
    ["a missing field", {}, ["name: required"]],
    ["an unknown field", { name: "x", extra: 1 }, ["extra: unknown field"]],
    ["an unknown field with a hostile name, quoted", { name: "x", "a\nb: c": 1 }, ['"a\\nb: c": unknown field']],
    ["a pattern through $ref", { name: "X" }, ["name: invalid value"]],
    ["a trailing newline", { name: "x\n" }, ["name: invalid value"]],
    ["a bad key", { name: "x", tags: { "A B": "x" } }, ['tags: invalid key "A B"']],
    ["a long value, by characters", { name: "x", tags: { ab: "abcd" } }, ["tags.ab: longer than 3 characters"]],
    ["an enum in a list", { name: "x", items: ["a", "c"] }, ["items[1]: must be one of a, b"]],
    ["a const", { name: "x", count: 2 }, ["count: must be 1"]],
    ["a boolean for an integer", { name: "x", count: true }, ["count: must be an integer"]],
  ])("reports %s", (_, value, errors) => {
    expect(schemaErrors(schema, value, "doc")).toEqual(errors);
  });

  it("counts characters, not UTF-16 units, for maxLength", () => {
    expect(schemaErrors(schema, { name: "x", tags: { ab: "😀😀😀" } }, "doc")).toEqual([]);
  });

  it("does not take inherited properties for declared ones", () => {
    expect(schemaErrors(schema, { name: "x", constructor: 1 }, "doc")).toEqual(["constructor: unknown field"]);
  });

  it.each<[string, SchemaNode]>([
    ["a keyword outside the subset", { type: "string", format: "email" } as SchemaNode],
    ["a nested one", { properties: { a: { minLength: 1 } as SchemaNode } }],
    ["an unknown type", { type: "number" }],
    ["a remote $ref", { $ref: "https://example.com/schema.json" }],
  ])("refuses a schema with %s", (_, bad) => {
    expect(() => schemaErrors(bad, "x", "doc")).toThrow(/not supported/);
  });
});
