import { parseDocument } from "yaml";
import joinInfoSchema from "../../images/node/join-info.schema.json" with { type: "json" };
import { schemaErrors } from "./schema-subset.ts";

/**
 * The join-info contract between the controller and the node image (see the
 * shared design notes). The JSON Schema in images/node/ is the source of
 * truth: validation and patterns come from it; the literal constants below
 * give TypeScript its types and a unit test keeps them equal to the schema.
 */
/** Where cloud-init writes the join info inside the guest. */
export const JOIN_INFO_PATH = "/etc/marooned/join-info.yaml";
export const JOIN_INFO_VERSION = 1;
export const JOIN_METHODS = ["k3s", "kubeadm"] as const;
export type JoinMethod = (typeof JOIN_METHODS)[number];
export const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;
export type TaintEffect = (typeof TAINT_EFFECTS)[number];

export interface JoinTaint {
  readonly key: string;
  readonly value: string;
  readonly effect: TaintEffect;
}

export interface JoinInfo {
  readonly version: number;
  readonly join_method: JoinMethod;
  readonly server_url: string;
  readonly token: string;
  readonly ca_cert_hash: string;
  readonly node_name: string;
  /** Absent in a warm pool VM's join info: it joins with no pod identity, and a claim gives it one. */
  readonly pod_uid?: string;
  readonly taint_key: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly JoinTaint[];
}

export type JoinInfoResult = { ok: true; joinInfo: JoinInfo } | { ok: false; errors: string[] };

/** `server_url` and label/taint keys; exported so the controller's config accepts only what renders a valid join info. */
export const SERVER_URL_PATTERN = new RegExp(joinInfoSchema.properties.server_url.pattern, "u");
export const QUALIFIED_NAME_PATTERN = new RegExp(joinInfoSchema.$defs.qualifiedName.pattern, "u");

/** Validates a parsed join-info document against the schema; every problem is reported with its field. */
export function validateJoinInfo(doc: unknown): JoinInfoResult {
  const errors = schemaErrors(joinInfoSchema, doc, "join info");
  return errors.length > 0 ? { ok: false, errors } : { ok: true, joinInfo: doc as JoinInfo };
}

/** YAML 1.2, as the renderer writes it; a warning (an unknown tag, say) rejects the text like an error. */
export function parseJoinInfo(text: string): JoinInfoResult {
  const document = parseDocument(text);
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem) return { ok: false, errors: [`join info: not valid YAML: ${problem.message.split("\n")[0] ?? ""}`] };
  return validateJoinInfo(document.toJS());
}
