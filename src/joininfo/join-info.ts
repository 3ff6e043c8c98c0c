import { parse } from "yaml";

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

/** The join-info contract between the controller and the node image (see shared design notes). */
export interface JoinInfo {
  readonly version: number;
  readonly join_method: JoinMethod;
  readonly server_url: string;
  readonly token: string;
  readonly ca_cert_hash: string;
  readonly node_name: string;
  readonly pod_uid: string;
  readonly taint_key: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly JoinTaint[];
}

export type JoinInfoResult = { ok: true; joinInfo: JoinInfo } | { ok: false; errors: string[] };

/** `server_url` and label/taint keys; exported so the controller's config accepts only what renders a valid join info. */
export const SERVER_URL_PATTERN = /^https:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^https:\/\/\[[0-9a-fA-F:]+\](:[0-9]{1,5})?$/;
export const QUALIFIED_NAME_PATTERN = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

const PATTERNS = {
  server_url: SERVER_URL_PATTERN,
  token: /^[a-z0-9]{6}\.[a-z0-9]{16}$/,
  ca_cert_hash: /^sha256:[a-f0-9]{64}$/,
  node_name: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
  pod_uid: /^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$/,
  qualifiedName: QUALIFIED_NAME_PATTERN,
  labelValue: /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/,
} as const;

const KNOWN_KEYS = new Set(["version", "join_method", "server_url", "token", "ca_cert_hash", "node_name", "pod_uid", "taint_key", "labels", "taints"]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkString(doc: Record<string, unknown>, key: string, pattern: RegExp, errors: string[]): string {
  const value = doc[key];
  if (typeof value !== "string") {
    errors.push(`${key}: required string`);
    return "";
  }
  if (!pattern.test(value)) errors.push(`${key}: invalid value`);
  return value;
}

function checkLabels(value: unknown, errors: string[]): Record<string, string> {
  if (!isRecord(value)) {
    errors.push("labels: required map of string to string");
    return {};
  }
  const labels: Record<string, string> = {};
  for (const [key, labelValue] of Object.entries(value)) {
    if (!PATTERNS.qualifiedName.test(key) || key.length > 316) errors.push(`labels: invalid key ${JSON.stringify(key)}`);
    else if (typeof labelValue !== "string" || !PATTERNS.labelValue.test(labelValue)) errors.push(`labels.${key}: invalid value`);
    else labels[key] = labelValue;
  }
  return labels;
}

function checkTaints(value: unknown, errors: string[]): JoinTaint[] {
  if (!Array.isArray(value)) {
    errors.push("taints: required list");
    return [];
  }
  const taints: JoinTaint[] = [];
  value.forEach((taint: unknown, index) => {
    const where = `taints[${index}]`;
    if (!isRecord(taint)) {
      errors.push(`${where}: must be a map with key, value, effect`);
      return;
    }
    const { key, value: taintValue, effect } = taint;
    if (typeof key !== "string" || !PATTERNS.qualifiedName.test(key)) errors.push(`${where}.key: invalid value`);
    else if (typeof taintValue !== "string" || !PATTERNS.labelValue.test(taintValue)) errors.push(`${where}.value: invalid value`);
    else if (typeof effect !== "string" || !(TAINT_EFFECTS as readonly string[]).includes(effect)) errors.push(`${where}.effect: must be one of ${TAINT_EFFECTS.join(", ")}`);
    else taints.push({ key, value: taintValue, effect: effect as TaintEffect });
  });
  return taints;
}

/** Validates a parsed join-info document; every problem is reported with its field. */
export function validateJoinInfo(doc: unknown): JoinInfoResult {
  if (!isRecord(doc)) return { ok: false, errors: ["join info: must be a YAML map"] };
  const errors: string[] = [];
  for (const key of Object.keys(doc)) if (!KNOWN_KEYS.has(key)) errors.push(`${key}: unknown field`);
  if (doc.version !== JOIN_INFO_VERSION) errors.push(`version: must be ${JOIN_INFO_VERSION}`);
  const joinMethod = doc.join_method;
  if (typeof joinMethod !== "string" || !(JOIN_METHODS as readonly string[]).includes(joinMethod)) errors.push(`join_method: must be one of ${JOIN_METHODS.join(", ")}`);
  const joinInfo: JoinInfo = {
    version: JOIN_INFO_VERSION,
    join_method: joinMethod as JoinMethod,
    server_url: checkString(doc, "server_url", PATTERNS.server_url, errors),
    token: checkString(doc, "token", PATTERNS.token, errors),
    ca_cert_hash: checkString(doc, "ca_cert_hash", PATTERNS.ca_cert_hash, errors),
    node_name: checkString(doc, "node_name", PATTERNS.node_name, errors),
    pod_uid: checkString(doc, "pod_uid", PATTERNS.pod_uid, errors),
    taint_key: checkString(doc, "taint_key", PATTERNS.qualifiedName, errors),
    labels: checkLabels(doc.labels, errors),
    taints: checkTaints(doc.taints, errors),
  };
  return errors.length > 0 ? { ok: false, errors } : { ok: true, joinInfo };
}

export function parseJoinInfo(text: string): JoinInfoResult {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    return { ok: false, errors: [`join info: not valid YAML: ${(error as Error).message.split("\n")[0] ?? ""}`] };
  }
  return validateJoinInfo(doc);
}
