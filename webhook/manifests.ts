import { POD_ANNOTATION_PREFIX } from "../src/api/conditions.ts";
import { CLEANUP_FINALIZER, dedicatedTaintKey, MANAGED_LABEL, MANAGED_LABEL_VALUE, poolTaintKey, SCHEDULING_GATE } from "../src/api/names.ts";
import { MUTATE_PODS_PATH } from "./handler.ts";
import { controllerUsername, validateAdmissionSettings, type AdmissionSettings } from "./settings.ts";

export const MUTATING_WEBHOOK_CONFIGURATION_NAME = "maroonedpods-webhook";
export const POLICY_NAMES = {
  requireGate: "maroonedpods-require-gate",
  controllerOnlyScheduling: "maroonedpods-controller-only-scheduling",
  dedicatedToleration: "maroonedpods-dedicated-toleration",
  reservedMetadata: "maroonedpods-reserved-metadata",
  markedNodeName: "maroonedpods-marooned-node-name",
} as const;
const WEBHOOK_TIMEOUT_SECONDS = 5;

export type WebhookClientConfig =
  | { readonly service: { readonly namespace: string; readonly name: string; readonly port: number }; readonly caBundle?: string }
  | { readonly url: string; readonly caBundle?: string };

/** A CEL string literal. Settings are validated to plain Kubernetes names first, so nothing can escape it. */
const cel = (value: string): string => JSON.stringify(value);

function assertValid(settings: AdmissionSettings): void {
  const errors = validateAdmissionSettings(settings);
  if (errors.length > 0) throw new Error(`invalid admission settings: ${errors.join("; ")}`);
}

/** CEL that is true for a pod selected for MaroonedPods, reading `pod` (object or oldObject). */
export function selectedPodExpression(settings: AdmissionSettings, pod = "object"): string {
  const { key, value } = settings.triggerLabel;
  return (
    `(has(${pod}.metadata.labels) && ${cel(key)} in ${pod}.metadata.labels && ${pod}.metadata.labels[${cel(key)}] == ${cel(value)}) || ` +
    `(has(${pod}.spec.runtimeClassName) && ${pod}.spec.runtimeClassName == ${cel(settings.runtimeClassName)})`
  );
}

const managedExpression = (pod: string): string =>
  `has(${pod}.metadata.labels) && ${cel(MANAGED_LABEL)} in ${pod}.metadata.labels && ${pod}.metadata.labels[${cel(MANAGED_LABEL)}] == ${cel(MANAGED_LABEL_VALUE)}`;
const gatedExpression = (pod: string): string => `has(${pod}.spec.schedulingGates) && ${pod}.spec.schedulingGates.exists(g, g.name == ${cel(SCHEDULING_GATE)})`;
const fieldOr = (pod: string, field: string, empty: string): string => `(has(${pod}.spec.${field}) ? ${pod}.spec.${field} : ${empty})`;
/** The label's value as a list of at most one: absent and empty stay apart, and two lists compare with ==. */
const labelAsList = (pod: string, key: string): string =>
  `(has(${pod}.metadata.labels) && ${cel(key)} in ${pod}.metadata.labels ? [${pod}.metadata.labels[${cel(key)}]] : [])`;
const hasCleanupFinalizer = (pod: string): string => `(has(${pod}.metadata.finalizers) && ${cel(CLEANUP_FINALIZER)} in ${pod}.metadata.finalizers)`;

/**
 * The pod as withIsolationDefaults leaves it: the RuntimeClass, the managed label, the cleanup finalizer and the
 * gate. decideMutation allows such a pod with no patch, so the API server need not call the webhook for it.
 */
export function isolatedPodExpression(settings: AdmissionSettings, pod = "object"): string {
  return [
    `(has(${pod}.spec.runtimeClassName) && ${pod}.spec.runtimeClassName == ${cel(settings.runtimeClassName)})`,
    `(${managedExpression(pod)})`,
    hasCleanupFinalizer(pod),
    `(${gatedExpression(pod)})`,
  ].join(" && ");
}
/** The controller's annotations as `key=value` entries; map order is not defined, so compare them as sets. */
const controllerAnnotations = (pod: string): string =>
  `(has(${pod}.metadata.annotations) ? ${pod}.metadata.annotations.filter(k, k.startsWith(${cel(POD_ANNOTATION_PREFIX)})).map(k, k + "=" + ${pod}.metadata.annotations[k]) : [])`;

function exemptNamespaceSelector(settings: AdmissionSettings) {
  return { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: [...settings.exemptNamespaces] }] };
}

const podRules = (operations: string[]) => [{ apiGroups: [""], apiVersions: ["v1"], operations, resources: ["pods"], scope: "Namespaced" }];

export function mutatingWebhookConfiguration(settings: AdmissionSettings, clientConfig: WebhookClientConfig): Record<string, unknown> {
  assertValid(settings);
  const { caBundle, ...target } = clientConfig;
  const endpoint = "url" in target ? { url: target.url } : { service: { ...target.service, path: MUTATE_PODS_PATH } };
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name: MUTATING_WEBHOOK_CONFIGURATION_NAME },
    webhooks: [
      {
        name: "pods.maroonedpods.io",
        admissionReviewVersions: ["v1"],
        clientConfig: { ...endpoint, ...(caBundle ? { caBundle } : {}) },
        rules: podRules(["CREATE"]),
        // A selected pod must never start un-isolated: if the webhook cannot answer, the pod is rejected.
        failurePolicy: "Fail",
        sideEffects: "None",
        timeoutSeconds: WEBHOOK_TIMEOUT_SECONDS,
        reinvocationPolicy: "IfNeeded",
        namespaceSelector: exemptNamespaceSelector(settings),
        // The API server calls the webhook for selected pods only: others never pay its latency or its outage.
        // Nor for a pod already as the webhook makes it, whose answer would change nothing: after the
        // RuntimeClass plugin fills in spec.overhead, reinvocation would otherwise call it a second time.
        // A later webhook that undoes any of it gets this one called again.
        matchConditions: [
          { name: "selected-pods-only", expression: selectedPodExpression(settings) },
          { name: "not-yet-isolated", expression: `!(${isolatedPodExpression(settings)})` },
        ],
      },
    ],
  };
}

/**
 * matchConstraints is an atomic field: spelling out what the API server would
 * default keeps a repeated server-side apply a true no-op.
 */
const constraints = (operations: string[], namespaceSelector: object = {}) => ({
  matchPolicy: "Equivalent",
  namespaceSelector,
  objectSelector: {},
  resourceRules: podRules(operations),
});

function policy(name: string, spec: Record<string, unknown>): Record<string, unknown>[] {
  return [
    { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicy", metadata: { name }, spec: { failurePolicy: "Fail", ...spec } },
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: { name },
      spec: { policyName: name, validationActions: ["Deny"] },
    },
  ];
}

/** The five policies that guard isolation inside the API server, each with its binding. */
export function validatingAdmissionPolicies(settings: AdmissionSettings): Record<string, unknown>[] {
  assertValid(settings);
  const controller = cel(controllerUsername(settings));
  const taintKey = cel(dedicatedTaintKey(settings.taintKeyPrefix));
  const poolKey = cel(poolTaintKey(settings.taintKeyPrefix));
  const isController = `request.userInfo.username == ${controller}`;
  return [
    ...policy(POLICY_NAMES.requireGate, {
      matchConstraints: constraints(["CREATE"], exemptNamespaceSelector(settings)),
      matchConditions: [{ name: "selected", expression: selectedPodExpression(settings) }],
      validations: [
        {
          expression: `${gatedExpression("object")} && ${managedExpression("object")} && has(object.metadata.finalizers) && ${cel(CLEANUP_FINALIZER)} in object.metadata.finalizers`,
          message: `a pod selected for MaroonedPods must arrive with the scheduling gate ${SCHEDULING_GATE}, the finalizer ${CLEANUP_FINALIZER} and the label ${MANAGED_LABEL}; is the maroonedpods webhook bypassed or misconfigured?`,
          reason: "Forbidden",
        },
      ],
    }),
    ...policy(POLICY_NAMES.controllerOnlyScheduling, {
      matchConstraints: constraints(["UPDATE"]),
      matchConditions: [
        { name: "managed-and-gated", expression: `${managedExpression("oldObject")} && ${gatedExpression("oldObject")}` },
        { name: "not-the-controller", expression: `!(${isController})` },
      ],
      validations: [
        { expression: gatedExpression("object"), message: `only the MaroonedPods controller may remove the scheduling gate ${SCHEDULING_GATE}`, reason: "Forbidden" },
        ...(["nodeSelector", "affinity", "tolerations"] as const).map((field) => ({
          expression: `${fieldOr("object", field, field === "tolerations" ? "[]" : "{}")} == ${fieldOr("oldObject", field, field === "tolerations" ? "[]" : "{}")}`,
          message: `only the MaroonedPods controller may change spec.${field} of a pod waiting for its VM`,
          reason: "Forbidden",
        })),
      ],
    }),
    ...policy(POLICY_NAMES.dedicatedToleration, {
      matchConstraints: constraints(["CREATE", "UPDATE"], exemptNamespaceSelector(settings)),
      variables: [
        { name: "oldTolerations", expression: `request.operation == "UPDATE" ? ${fieldOr("oldObject", "tolerations", "[]")} : []` },
      ],
      validations: [
        {
          // A toleration of the dedicated key (or of everything) is allowed only on a managed pod, for its own UID,
          // and only if the controller added it or it was already there.
          expression:
            `${fieldOr("object", "tolerations", "[]")}.all(t, ` +
            `!((has(t.key) && t.key == ${taintKey}) || ((!has(t.key) || t.key == "") && has(t.operator) && t.operator == "Exists")) || ` +
            `(request.operation == "UPDATE" && ${managedExpression("object")} && has(t.key) && t.key == ${taintKey} && ` +
            `has(t.value) && t.value == object.metadata.uid && (!has(t.operator) || t.operator == "Equal") && ` +
            `(${isController} || t in variables.oldTolerations)))`,
          message: `only the MaroonedPods controller may give a pod a toleration for ${dedicatedTaintKey(settings.taintKeyPrefix)}, and no pod may tolerate every taint`,
          reason: "Forbidden",
        },
        {
          // An unclaimed warm pool node is nobody's: no pod, the controller's included, tolerates its taint.
          expression: `${fieldOr("object", "tolerations", "[]")}.all(t, !has(t.key) || t.key != ${poolKey})`,
          message: `no pod may tolerate ${poolTaintKey(settings.taintKeyPrefix)}: an unclaimed warm pool node is nobody's`,
          reason: "Forbidden",
        },
      ],
    }),
    ...policy(POLICY_NAMES.reservedMetadata, {
      // What marks a pod as selected and managed, and the controller's records on it: set at create only by the
      // webhook on a pod it selects, and afterwards changed by nobody but the controller.
      matchConstraints: constraints(["CREATE", "UPDATE"], exemptNamespaceSelector(settings)),
      matchConditions: [{ name: "not-the-controller", expression: `!(${isController})` }],
      variables: [
        { name: "annotations", expression: controllerAnnotations("object") },
        { name: "oldAnnotations", expression: controllerAnnotations("oldObject") },
      ],
      validations: [
        {
          expression: `request.operation != "CREATE" || variables.annotations.size() == 0`,
          message: `annotations under ${POD_ANNOTATION_PREFIX} are the MaroonedPods controller's records: no pod may be created with one`,
          reason: "Forbidden",
        },
        {
          expression: `request.operation != "CREATE" || (${selectedPodExpression(settings)}) || (${labelAsList("object", MANAGED_LABEL)}.size() == 0 && !${hasCleanupFinalizer("object")})`,
          message: `the label ${MANAGED_LABEL} and the finalizer ${CLEANUP_FINALIZER} are set by the MaroonedPods webhook, on pods it selects only`,
          reason: "Forbidden",
        },
        ...[settings.triggerLabel.key, MANAGED_LABEL].map((key) => ({
          expression: `request.operation != "UPDATE" || ${labelAsList("object", key)} == ${labelAsList("oldObject", key)}`,
          message: `the label ${key} cannot be added, changed or removed after the pod is created`,
          reason: "Forbidden",
        })),
        {
          expression: `request.operation != "UPDATE" || ${hasCleanupFinalizer("object")} == ${hasCleanupFinalizer("oldObject")}`,
          message: `only the MaroonedPods controller may add or remove the finalizer ${CLEANUP_FINALIZER}`,
          reason: "Forbidden",
        },
        {
          expression:
            `request.operation != "UPDATE" || (variables.annotations.size() == variables.oldAnnotations.size() && ` +
            `variables.annotations.all(a, a in variables.oldAnnotations))`,
          message: `only the MaroonedPods controller may add, change or remove annotations under ${POD_ANNOTATION_PREFIX}`,
          reason: "Forbidden",
        },
      ],
    }),
    ...policy(POLICY_NAMES.markedNodeName, {
      matchConstraints: constraints(["CREATE"]),
      matchConditions: [
        { name: "names-a-marooned-node", expression: `has(object.spec.nodeName) && object.spec.nodeName.startsWith(${cel(settings.nodeNamePrefix)})` },
      ],
      validations: [
        {
          expression: isController,
          message: `spec.nodeName may not name a MaroonedPods node (prefix ${settings.nodeNamePrefix}): nodeName bypasses the scheduler and its taints`,
          reason: "Forbidden",
        },
      ],
    }),
  ];
}
