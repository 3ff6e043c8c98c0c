import { isDeepStrictEqual } from "node:util";
import { stringify } from "yaml";
import { DEFAULT_VM_NAMESPACE } from "../api/names.ts";
import { installObjects, type KubeObject } from "../install/bundle.ts";
import { objectRef } from "../install/changes.ts";
import { CONTROLLER_DEPLOYMENT, DEFAULT_LOGGING, WEBHOOK_DEPLOYMENT } from "../install/workloads.ts";
import { DEFAULT_ADMISSION_SETTINGS } from "../../webhook/settings.ts";
import { escapeHelm, type HoleSet } from "./holes.ts";

export const MODE = ".Values.certificates.mode";
export const modeIs = (mode: "self-managed" | "cert-manager"): string => `eq ${MODE} "${mode}"`;

/** One object of the chart, the condition under which it renders, and the template file it goes in. */
export interface ChartObject {
  readonly object: KubeObject;
  readonly condition?: string;
}

/** What the holes replaced: the chart's default values, read off the bundle at each hole. */
export interface BundleDefaults {
  controller: Record<string, unknown>;
  webhook: Record<string, unknown>;
  resourceOverhead?: unknown;
}

type Json = Record<string, unknown>;
const at = (object: Json, path: readonly (string | number)[]): Json => path.reduce<Json>((o, key) => (o as Record<string | number, Json>)[key] as Json, object);

/** Every string equal to `from`, anywhere in `value`, replaced by `to`; every list equal to `list` gets `extra` appended. */
function rewrite(value: unknown, edit: { from: string; to: string; list: readonly string[]; extra: string }): unknown {
  if (typeof value === "string") return value === edit.from ? edit.to : value;
  if (Array.isArray(value)) {
    const items = value.map((v) => rewrite(v, edit));
    return isDeepStrictEqual(value, edit.list) ? [...items, edit.extra] : items;
  }
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v, edit)]));
  return value;
}

const withBlock = (holes: HoleSet, key: string, values: string) =>
  holes.add({ kind: "block", render: (i) => `${i}{{- with ${values} }}\n${i}${key}: {{- toYaml . | nindent ${String(i.length + 2)} }}\n${i}{{- end }}` });

/** The Deployment's values: image, replicas, resources, logging, certificate mode, and the pod's placement and annotations. */
function deploymentHoles(object: Json, component: "controller" | "webhook", holes: HoleSet, defaults: BundleDefaults): void {
  const values = `.Values.${component}`;
  const spec = object.spec as Json;
  const pod = at(object, ["spec", "template"]);
  const container = at(pod, ["spec", "containers", 0]);
  defaults[component] = { image: container.image, replicas: spec.replicas, resources: container.resources };
  spec.replicas = holes.add({ kind: "inline", expr: `${values}.replicas` });
  container.image = holes.add({ kind: "inline", expr: `${values}.image | quote` });
  container.resources = holes.add({ kind: "yaml", expr: `${values}.resources` });
  const flags: Record<string, string> = {
    [`--log-level=${DEFAULT_LOGGING.level}`]: ".Values.logLevel",
    [`--log-format=${DEFAULT_LOGGING.format}`]: ".Values.logFormat",
    "--manage-webhook-certificate=true": modeIs("self-managed"),
    [`--vm-namespace=${DEFAULT_VM_NAMESPACE}`]: ".Values.vmNamespace",
  };
  container.args = (container.args as string[]).map((arg) => {
    const expr = flags[arg];
    return expr ? `${arg.slice(0, arg.indexOf("=") + 1)}${holes.add({ kind: "inline", expr })}` : arg;
  });
  (pod.metadata as Json)[withBlock(holes, "annotations", ".Values.podAnnotations")] = null;
  const podSpec = pod.spec as Json;
  podSpec[withBlock(holes, "nodeSelector", ".Values.nodeSelector")] = null;
  podSpec[withBlock(holes, "tolerations", ".Values.tolerations")] = null;
}

/**
 * The install bundle of both certificate modes as chart objects: what both
 * share once, what only one has under its condition, and a hole wherever a
 * value goes. With the default values the chart renders the bundle exactly.
 */
export function bundleChartObjects(holes: HoleSet): { objects: ChartObject[]; defaults: BundleDefaults } {
  const selfManaged = installObjects("self-managed");
  const certManager = installObjects("cert-manager");
  const refs = (objects: KubeObject[]) => new Set(objects.map(objectRef));
  const inSelf = refs(selfManaged);
  const inCertManager = refs(certManager);
  const defaults: BundleDefaults = { controller: {}, webhook: {} };
  const edit = {
    from: DEFAULT_VM_NAMESPACE,
    to: holes.add({ kind: "inline", expr: ".Values.vmNamespace" }),
    list: DEFAULT_ADMISSION_SETTINGS.exemptNamespaces,
    extra: holes.add({ kind: "block", render: (i) => `${i}{{- range .Values.extraExemptNamespaces }}\n${i}- {{ . | quote }}\n${i}{{- end }}` }),
  };
  const chartObject = (original: KubeObject, condition?: string): ChartObject => {
    const object = rewrite(structuredClone(original), edit) as Json;
    const name = (object.metadata as { name: string }).name;
    if (object.kind === "Deployment") deploymentHoles(object, name === CONTROLLER_DEPLOYMENT ? "controller" : "webhook", holes, defaults);
    if (object.kind === "RuntimeClass") {
      defaults.resourceOverhead = at(object, ["overhead"]).podFixed;
      at(object, ["overhead"]).podFixed = holes.add({ kind: "yaml", expr: ".Values.resourceOverhead" });
    }
    if (object.kind === "MutatingWebhookConfiguration") {
      const annotations = (certManager.find((o) => objectRef(o) === objectRef(original))?.metadata as Json).annotations;
      const text = stringify({ annotations }, { lineWidth: 0 }).trimEnd();
      const render = (i: string) => `${i}{{- if ${modeIs("cert-manager")} }}\n${text.split("\n").map((l) => i + l).join("\n")}\n${i}{{- end }}`;
      (object.metadata as Json)[holes.add({ kind: "block", render })] = null;
    }
    return condition ? { object, condition } : { object };
  };
  const objects = [
    ...selfManaged.map((o) => chartObject(o, inCertManager.has(objectRef(o)) ? undefined : modeIs("self-managed"))),
    ...certManager.filter((o) => !inSelf.has(objectRef(o))).map((o) => chartObject(o, modeIs("cert-manager"))),
  ];
  if (!defaults.controller.image || !defaults.webhook.image) throw new Error(`the bundle has no ${CONTROLLER_DEPLOYMENT} or ${WEBHOOK_DEPLOYMENT} Deployment`);
  return { objects, defaults };
}

const FILES: Readonly<Record<string, string>> = {
  Namespace: "namespaces",
  ServiceAccount: "rbac",
  Role: "rbac",
  RoleBinding: "rbac",
  ClusterRole: "rbac",
  ClusterRoleBinding: "rbac",
  Issuer: "cert-manager",
  Certificate: "cert-manager",
  NetworkPolicy: "network-policies",
  RuntimeClass: "runtime-class",
  ValidatingAdmissionPolicy: "admission-policies",
  ValidatingAdmissionPolicyBinding: "admission-policies",
  MutatingWebhookConfiguration: "mutating-webhook",
  PodDisruptionBudget: "webhook",
};

/** The template file an object goes in: its component's for workloads, its concern's for the rest. */
export function templateFileOf(object: KubeObject): string {
  const component = ((object.metadata as Json).labels as Record<string, string> | undefined)?.["app.kubernetes.io/component"];
  const base = FILES[object.kind as string] ?? component ?? (object.kind as string).toLowerCase();
  return `templates/${base}.yaml`;
}

export const GENERATED_HEADER = "# Generated by `npm run generate:manifests` from src/install/ and src/chart/: edit those, not this file.\n";

/** Template files: each object as a YAML document, under its condition, holes filled, static braces escaped. */
export function renderTemplates(objects: readonly (ChartObject & { file?: string })[], holes: HoleSet): Record<string, string> {
  const files: Record<string, string> = {};
  for (const { object, condition, file } of objects) {
    const path = file ?? templateFileOf(object);
    const body = holes.fill(escapeHelm(stringify(object, { lineWidth: 0 })));
    const document = condition ? `{{- if ${condition} }}\n---\n${body}{{- end }}\n` : `---\n${body}`;
    files[path] = (files[path] ?? GENERATED_HEADER) + document;
  }
  return files;
}
