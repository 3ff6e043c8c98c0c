import { DEFAULT_LOGGING } from "../install/workloads.ts";
import { DEFAULT_VM_NAMESPACE } from "../api/names.ts";
import type { BundleDefaults } from "./templates.ts";

/** The chart's default values: the bundle's own where it has one (read off at its holes), off for every extra. */
export function defaultValues(bundle: BundleDefaults): Record<string, unknown> {
  return {
    controller: bundle.controller,
    webhook: bundle.webhook,
    logLevel: DEFAULT_LOGGING.level,
    logFormat: DEFAULT_LOGGING.format,
    certificates: { mode: "self-managed" },
    vmNamespace: DEFAULT_VM_NAMESPACE,
    extraExemptNamespaces: [],
    resourceOverhead: bundle.resourceOverhead,
    config: { create: false, spec: {} },
    podAnnotations: {},
    nodeSelector: {},
    tolerations: [],
    serviceMonitor: { enabled: false, interval: "30s", labels: {} },
    prometheusRule: { enabled: false, labels: {} },
    grafanaDashboard: { enabled: false, labels: { grafana_dashboard: "1" } },
  };
}

/** One comment per top-level value, written above it in values.yaml. */
export const VALUE_DOCS: Readonly<Record<string, string>> = {
  controller: "The controller Deployment: image, replicas (they elect one leader), resources.",
  webhook: "The admission webhook Deployment: image, replicas (failurePolicy Fail: keep at least 2), resources.",
  logLevel: "trace, debug, info, warn or error, for both components.",
  logFormat: "json or text, for both components.",
  certificates: "mode: self-managed (the controller issues and rotates the webhook certificate) or cert-manager (installed separately).",
  vmNamespace: "Where the VMs and their cloud-init Secrets live: the namespace, the controller's Role there and its --vm-namespace flag.",
  extraExemptNamespaces: "Namespaces, besides kube-system and the project's own, that the webhook skips and the policies exempt (infrastructure only).",
  resourceOverhead: "The VM's overhead beyond the pod's requests: the RuntimeClass's podFixed overhead and, with config.create, the config's resourceOverhead.",
  config: "create: true makes the MaroonedPodsConfig `default` with this spec (resourceOverhead comes from the value above).",
  podAnnotations: "Annotations on the controller's and the webhook's pods.",
  nodeSelector: "Node selector for the controller's and the webhook's pods.",
  tolerations: "Tolerations for the controller's and the webhook's pods.",
  serviceMonitor: "A Prometheus Operator ServiceMonitor for each component. The NetworkPolicies admit scrapers only from namespaces labeled maroonedpods.io/scrape-metrics=true.",
  prometheusRule: "The alerts and recording rules as a Prometheus Operator PrometheusRule.",
  grafanaDashboard: "The Grafana dashboard as a ConfigMap, labeled for Grafana's dashboard sidecar.",
};

type Schema = Record<string, unknown>;
const strict = (properties: Record<string, Schema>, required: string[] = Object.keys(properties)): Schema => ({ type: "object", additionalProperties: false, required, properties });
const DNS_LABEL = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";
const QUANTITY = "^[0-9]+(\\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$";
const labels: Schema = { type: "object", additionalProperties: { type: "string" } };
const resources: Schema = {
  type: "object",
  additionalProperties: false,
  properties: Object.fromEntries(["requests", "limits"].map((k) => [k, { type: "object", additionalProperties: { type: ["string", "number"] } }])),
};
const component: Schema = strict({ image: { type: "string", minLength: 1 }, replicas: { type: "integer", minimum: 1 }, resources });

/** Keys of an OpenAPI schema a JSON Schema validator does not need (Kubernetes extensions, server-side defaults). */
function plainSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(plainSchema);
  if (!schema || typeof schema !== "object") return schema;
  const entries = Object.entries(schema).filter(([k]) => !k.startsWith("x-kubernetes-") && k !== "default");
  const plain = Object.fromEntries(entries.map(([k, v]) => [k, k === "properties" ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, plainSchema(s)])) : plainSchema(v)]));
  return plain.type === "object" && plain.properties && plain.additionalProperties === undefined ? { ...plain, additionalProperties: false } : plain;
}

/**
 * values.schema.json: every value typed, unknown keys rejected, names checked
 * as Kubernetes checks them (they end up in selectors and CEL), and config.spec
 * checked against the CRD's own schema, less the two fields the chart sets.
 */
export function valuesSchema(crdSpecSchema: Record<string, unknown>): Schema {
  const spec = plainSchema(crdSpecSchema) as { properties: Record<string, unknown> };
  const { resourceOverhead } = spec.properties;
  const configurable = Object.fromEntries(Object.entries(spec.properties).filter(([field]) => field !== "resourceOverhead" && field !== "vmNamespace"));
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $comment: "Generated by `npm run generate:manifests` from src/chart/values.ts: edit that, not this file.",
    ...strict({
      controller: component,
      webhook: component,
      logLevel: { enum: ["trace", "debug", "info", "warn", "error"] },
      logFormat: { enum: ["json", "text"] },
      certificates: strict({ mode: { enum: ["self-managed", "cert-manager"] } }),
      vmNamespace: { type: "string", pattern: DNS_LABEL },
      extraExemptNamespaces: { type: "array", uniqueItems: true, items: { type: "string", pattern: DNS_LABEL } },
      resourceOverhead: { ...(resourceOverhead as Schema), required: ["cpu", "memory"], properties: { cpu: { type: "string", pattern: QUANTITY }, memory: { type: "string", pattern: QUANTITY } } },
      config: strict({ create: { type: "boolean" }, spec: { ...spec, properties: configurable } }),
      podAnnotations: labels,
      nodeSelector: labels,
      tolerations: { type: "array", items: { type: "object" } },
      serviceMonitor: strict({ enabled: { type: "boolean" }, interval: { type: "string", pattern: "^[0-9]+(ms|s|m|h)$" }, labels }),
      prometheusRule: strict({ enabled: { type: "boolean" }, labels }),
      grafanaDashboard: strict({ enabled: { type: "boolean" }, labels }),
    }),
  };
}
