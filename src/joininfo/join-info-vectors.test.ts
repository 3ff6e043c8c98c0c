import { describe, expect, it } from "vitest";
import { parseJoinInfo } from "./join-info.ts";
import { loadVectors, namesExpectedError } from "./test-vectors.test-support.ts";

const { valid, invalid } = loadVectors();

describe("parseJoinInfo on the shared test vectors", () => {
  it.each(valid.map((v) => [v.name, v] as const))("accepts %s as the same data", (_, vector) => {
    expect(parseJoinInfo(vector.text)).toEqual({ ok: true, joinInfo: vector.data });
  });

  it.each(invalid.map((v) => [v.name, v] as const))("rejects %s and names the field", (_, vector) => {
    const result = parseJoinInfo(vector.text);
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    expect(namesExpectedError(errors, vector.expect), `errors: ${JSON.stringify(errors)}; expected ${JSON.stringify(vector.expect)}`).toBe(true);
  });
});
