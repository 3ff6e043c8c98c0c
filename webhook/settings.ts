import { DEFAULT_CONTROLLER_SERVICE_ACCOUNT, DEFAULT_NODE_NAME_PREFIX, DEFAULT_RUNTIME_CLASS, DEFAULT_SYSTEM_NAMESPACE, DEFAULT_TAINT_KEY_PREFIX, DEFAULT_VM_NAMESPACE, KUBE_SYSTEM_NAMESPACE, MAROON_LABEL, MAROON_LABEL_VALUE } from "../src/api/names.ts";

/**
 * The configurable names that the webhook, its registration and the
 * ValidatingAdmissionPolicies must agree on; all three are derived from one value.
 */
export interface AdmissionSettings {
  readonly triggerLabel: { readonly key: string; readonly value: string };
  readonly runtimeClassName: string;
  readonly taintKeyPrefix: string;
  readonly nodeNamePrefix: string;
  /** Namespaces the webhook skips and the policies exempt: infrastructure and the project's own. */
  readonly exemptNamespaces: readonly string[];
  readonly controllerServiceAccount: { readonly namespace: string; readonly name: string };
}

export const DEFAULT_ADMISSION_SETTINGS: AdmissionSettings = {
  triggerLabel: { key: MAROON_LABEL, value: MAROON_LABEL_VALUE },
  runtimeClassName: DEFAULT_RUNTIME_CLASS,
  taintKeyPrefix: DEFAULT_TAINT_KEY_PREFIX,
  nodeNamePrefix: DEFAULT_NODE_NAME_PREFIX,
  exemptNamespaces: [KUBE_SYSTEM_NAMESPACE, DEFAULT_SYSTEM_NAMESPACE, DEFAULT_VM_NAMESPACE],
  controllerServiceAccount: { namespace: DEFAULT_SYSTEM_NAMESPACE, name: DEFAULT_CONTROLLER_SERVICE_ACCOUNT },
};

export const controllerUsername = (settings: AdmissionSettings): string =>
  `system:serviceaccount:${settings.controllerServiceAccount.namespace}:${settings.controllerServiceAccount.name}`;

const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NODE_PREFIX = /^[a-z0-9][-a-z0-9]{0,30}$/;
const isDnsSubdomain = (value: string): boolean => value.length <= 253 && DNS_SUBDOMAIN.test(value);
/** The prefix of a label key, when present, is a DNS subdomain of at most 253 characters. */
const isLabelKey = (key: string): boolean => QUALIFIED_NAME.test(key) && key.indexOf("/") <= 253;

/**
 * Every problem with the settings, each naming its field. Values end up inside
 * CEL expressions, so only the characters Kubernetes names allow pass.
 */
export function validateAdmissionSettings(settings: AdmissionSettings): string[] {
  const errors: string[] = [];
  if (!isLabelKey(settings.triggerLabel.key)) errors.push("triggerLabel.key: not a valid label key");
  if (!LABEL_VALUE.test(settings.triggerLabel.value) || settings.triggerLabel.value === "") errors.push("triggerLabel.value: not a valid, non-empty label value");
  if (!isDnsSubdomain(settings.runtimeClassName)) errors.push("runtimeClassName: not a valid RuntimeClass name");
  if (!isDnsSubdomain(settings.taintKeyPrefix)) errors.push("taintKeyPrefix: not a valid DNS subdomain");
  if (!NODE_PREFIX.test(settings.nodeNamePrefix)) errors.push("nodeNamePrefix: must be lowercase letters, digits and '-', at most 31 characters");
  settings.exemptNamespaces.forEach((ns, i) => {
    if (!DNS_LABEL.test(ns)) errors.push(`exemptNamespaces[${i}]: not a valid namespace name`);
  });
  if (!DNS_LABEL.test(settings.controllerServiceAccount.namespace)) errors.push("controllerServiceAccount.namespace: not a valid namespace name");
  if (!isDnsSubdomain(settings.controllerServiceAccount.name)) errors.push("controllerServiceAccount.name: not a valid ServiceAccount name");
  return errors;
}
