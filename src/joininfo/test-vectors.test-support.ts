/**
 * The shared join-info test vectors (images/node/test-vectors/*.yaml), checked
 * against the TypeScript parser, the controller's renderer and the node's boot
 * script. Not a test file itself (vitest picks up `*.test.ts` only).
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import type { JoinInfo } from "./join-info.ts";

export const VECTORS_DIR = fileURLToPath(new URL("../../images/node/test-vectors/", import.meta.url));

interface VectorBase {
  readonly name: string;
  readonly description: string;
  /** The join info as data, when the vector has it as data (the renderer can only write data). */
  readonly data: unknown;
  /** The join-info file's text: the vector's raw text, or its data as the renderer's YAML library writes it. */
  readonly text: string;
}

export interface ValidVector extends VectorBase {
  readonly valid: true;
  readonly data: JoinInfo;
  /** Where the boot script writes the agent's configuration, and exactly what. */
  readonly expect: { readonly path: string; readonly content: string };
}

export interface InvalidVector extends VectorBase {
  readonly valid: false;
  /** The field every reader must name; `error` is the whole message where it is the same in every reader. */
  readonly expect: { readonly errorField: string; readonly error: string | undefined };
}

type JoinInfoVector = ValidVector | InvalidVector;

type RawVector = Partial<{
  description: string;
  join_info: unknown;
  join_info_text: string;
  expect: Partial<{ path: string; content: string; error_field: string; error: string }>;
}>;

function toVector(file: string, raw: RawVector): JoinInfoVector {
  const name = file.replace(/\.yaml$/, "");
  const broken = (why: string) => new Error(`test vector ${file}: ${why}`);
  if (typeof raw.description !== "string") throw broken("needs a description");
  if (("join_info" in raw) === (raw.join_info_text !== undefined)) throw broken("needs exactly one of join_info, join_info_text");
  const text = raw.join_info_text ?? stringify(raw.join_info);
  const expect = raw.expect ?? {};
  if (name.startsWith("valid-")) {
    if (typeof expect.path !== "string" || typeof expect.content !== "string") throw broken("a valid vector expects a path and a content");
    if (raw.join_info === undefined) throw broken("a valid vector has its join info as data");
    return { name, description: raw.description, valid: true, data: raw.join_info as JoinInfo, text, expect: { path: expect.path, content: expect.content } };
  }
  if (name.startsWith("invalid-")) {
    if (typeof expect.error_field !== "string") throw broken("an invalid vector expects an error_field");
    if (expect.error !== undefined && !expect.error.startsWith(`${expect.error_field}: `)) throw broken("its error must start with its error_field");
    return { name, description: raw.description, valid: false, data: raw.join_info, text, expect: { errorField: expect.error_field, error: expect.error } };
  }
  throw broken("the file name must start with valid- or invalid-");
}

export function loadVectors(): { valid: ValidVector[]; invalid: InvalidVector[] } {
  const files = readdirSync(VECTORS_DIR).filter((file) => file.endsWith(".yaml")).sort();
  const vectors = files.map((file) => toVector(file, parse(readFileSync(`${VECTORS_DIR}${file}`, "utf8")) as RawVector));
  const valid = vectors.filter((vector) => vector.valid);
  const invalid = vectors.filter((vector) => !vector.valid);
  if (valid.length === 0 || invalid.length === 0) throw new Error(`${VECTORS_DIR} needs valid and invalid test vectors`);
  return { valid, invalid };
}

/** Whether `errors` names the vector's field (and carries its whole message, where the vector gives one). */
export function namesExpectedError(errors: readonly string[], expected: InvalidVector["expect"]): boolean {
  return errors.some((error) => error.startsWith(`${expected.errorField}: `) && (expected.error === undefined || error === expected.error));
}
