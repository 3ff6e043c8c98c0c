import { isRecord as isMap } from "../util/guards.ts";
/**
 * The JSON Schema (2020-12) keywords the join-info schema uses, validated with
 * the messages the node image's Python helper (images/node/join-config.py)
 * prints too: a field path, a colon, what is wrong. A keyword outside this
 * subset is refused rather than silently ignored.
 */
export interface SchemaNode {
  readonly type?: string;
  readonly const?: unknown;
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly maxLength?: number;
  readonly required?: readonly string[];
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly additionalProperties?: boolean | SchemaNode;
  readonly propertyNames?: SchemaNode;
  readonly items?: SchemaNode;
  readonly $ref?: string;
  readonly $defs?: Readonly<Record<string, SchemaNode>>;
}

export const SUPPORTED_KEYWORDS: readonly string[] = [
  "type", "const", "enum", "pattern", "maxLength", "required", "properties", "additionalProperties", "propertyNames", "items", "$ref", "$defs",
  "$schema", "$id", "title", "description",
];


const TYPES: Readonly<Record<string, { test: (value: unknown) => boolean; message: string }>> = {
  object: { test: isMap, message: "must be a map" },
  array: { test: Array.isArray, message: "must be a list" },
  string: { test: (value) => typeof value === "string", message: "must be a string" },
  integer: { test: Number.isInteger, message: "must be an integer" },
};

/** Keys with other characters are quoted, so a hostile key cannot forge a log line. */
const pathSegment = (key: string): string => (/^[A-Za-z0-9_./-]+$/.test(key) ? key : JSON.stringify(key));
const childPath = (path: string, key: string): string => (path === "" ? pathSegment(key) : `${path}.${pathSegment(key)}`);

function checkKeywords(node: SchemaNode): void {
  for (const keyword of Object.keys(node)) if (!SUPPORTED_KEYWORDS.includes(keyword)) throw new Error(`schema keyword ${keyword} is not supported`);
  const children = [...Object.values(node.properties ?? {}), ...Object.values(node.$defs ?? {}), node.propertyNames, node.items];
  if (isMap(node.additionalProperties)) children.push(node.additionalProperties);
  for (const child of children) if (child) checkKeywords(child);
}

/** Every way `value` breaks `schema`, each as `<field path>: <problem>`; the document itself is called `rootName`. */
export function schemaErrors(schema: SchemaNode, value: unknown, rootName: string): string[] {
  checkKeywords(schema);
  const resolve = (node: SchemaNode): SchemaNode => {
    if (node.$ref === undefined) return node;
    const target = node.$ref.startsWith("#/$defs/") ? schema.$defs?.[node.$ref.slice("#/$defs/".length)] : undefined;
    if (!target) throw new Error(`schema reference ${node.$ref} is not supported`);
    return target;
  };

  const visit = (rawNode: SchemaNode, data: unknown, path: string, errors: string[]): void => {
    const node = resolve(rawNode);
    const fail = (problem: string) => errors.push(`${path === "" ? rootName : path}: ${problem}`);
    const type = node.type === undefined ? undefined : TYPES[node.type];
    if (node.type !== undefined && !type) throw new Error(`schema type ${node.type} is not supported`);
    if (type && !type.test(data)) return void fail(type.message);
    if ("const" in node && data !== node.const) return void fail(`must be ${JSON.stringify(node.const)}`);
    if (node.enum && !node.enum.includes(data)) return void fail(`must be one of ${node.enum.join(", ")}`);
    if (typeof data === "string" && node.maxLength !== undefined && [...data].length > node.maxLength) return void fail(`longer than ${node.maxLength} characters`);
    if (typeof data === "string" && node.pattern !== undefined && !new RegExp(node.pattern, "u").test(data)) return void fail("invalid value");
    if (Array.isArray(data) && node.items) {
      const items = node.items;
      data.forEach((item: unknown, index) => {
        visit(items, item, `${path}[${index}]`, errors);
      });
    }
    if (!isMap(data)) return;
    for (const key of node.required ?? []) if (!Object.hasOwn(data, key)) errors.push(`${childPath(path, key)}: required`);
    for (const [key, child] of Object.entries(data)) {
      if (node.propertyNames) {
        const keyErrors: string[] = [];
        visit(node.propertyNames, key, "key", keyErrors);
        if (keyErrors.length > 0) {
          fail(`invalid key ${JSON.stringify(key)}`);
          continue;
        }
      }
      const declared = node.properties && Object.hasOwn(node.properties, key) ? node.properties[key] : undefined;
      if (declared) visit(declared, child, childPath(path, key), errors);
      else if (node.additionalProperties === false) errors.push(`${childPath(path, key)}: unknown field`);
      else if (isMap(node.additionalProperties)) visit(node.additionalProperties, child, childPath(path, key), errors);
    }
  };

  const errors: string[] = [];
  visit(schema, value, "", errors);
  return errors;
}
