import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { JOIN_INFO_PATH, parseJoinInfo, type JoinInfo } from "../joininfo/join-info.ts";
import { loadVectors, namesExpectedError } from "../joininfo/test-vectors.test-support.ts";
import { writtenFileContent } from "../simulator/cloud-init.ts";
import { renderCloudConfig } from "./artifacts.ts";

const { valid, invalid } = loadVectors();

/** The join-info file cloud-init would write from the rendered user data. */
function joinInfoFileOf(joinInfo: unknown): string {
  // The renderer takes a JoinInfo; invalid vectors check that it carries anything else as inert data.
  const userData = renderCloudConfig(joinInfo as JoinInfo);
  expect(userData.startsWith("#cloud-config\n")).toBe(true);
  expect(Object.keys(parse(userData) as object)).toEqual(["write_files"]);
  const file = writtenFileContent(userData, JOIN_INFO_PATH);
  if (!file.ok) throw new Error(file.error);
  return file.content;
}

describe("renderCloudConfig on the shared test vectors", () => {
  it.each(valid.map((v) => [v.name, v] as const))("%s: the written join info parses back to the vector's", (_, vector) => {
    const content = joinInfoFileOf(vector.data);
    expect(content).toBe(vector.text);
    expect(parseJoinInfo(content)).toEqual({ ok: true, joinInfo: vector.data });
  });

  it.each(invalid.filter((v) => v.data !== undefined).map((v) => [v.name, v] as const))(
    "%s: stays data in the user data, and the node's parser refuses it",
    (_, vector) => {
      const content = joinInfoFileOf(vector.data);
      expect(parse(content)).toEqual(vector.data);
      const result = parseJoinInfo(content);
      expect(!result.ok && namesExpectedError(result.errors, vector.expect)).toBe(true);
    },
  );
});
