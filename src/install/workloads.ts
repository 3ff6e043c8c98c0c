import { DEFAULT_CONTROLLER_SERVICE_ACCOUNT, DEFAULT_SYSTEM_NAMESPACE, DEFAULT_VM_NAMESPACE, DEFAULT_WEBHOOK_SERVICE_ACCOUNT, METRICS_SCRAPER_NAMESPACE_LABEL, WEBHOOK_SERVICE_NAME, WEBHOOK_TLS_SECRET } from "../api/names.ts";

/** The one image runs both the controller and the webhook (`maroonedpods controller|webhook`). */
export const PROJECT_VERSION = "0.1.0";
export const DEFAULT_IMAGE = `quay.io/maroonedpods/maroonedpods:v${PROJECT_VERSION}`;

export const COMPONENT_LABEL = "app.kubernetes.io/component";
const NAME_LABEL = "app.kubernetes.io/name";
export const componentLabels = (component: "controller" | "webhook") => ({ [NAME_LABEL]: "maroonedpods", [COMPONENT_LABEL]: component });

/**
 * V8 sizes its heap from the host's memory, not the container's: on a 24 GiB
 * machine the controller's RSS grew past 400 MiB at 1000 pods with far less
 * live data. A bounded old space makes it collect instead (pipeline benchmark).
 * A 1 MiB semi-space (a 2 MiB young generation, not 8) and one V8 worker thread,
 * not four (a worker's malloc arena stays resident: 9 MiB at 300 pods), lower the
 * peak RSS at no measured cost in CPU or latency.
 */
export const CONTROLLER_NODE_OPTIONS = "--max-old-space-size=160 --max-semi-space-size=1 --v8-pool-size=1";

export const PORTS = { webhook: 9443, webhookOps: 8080, controllerOps: 8081 } as const;
const TLS_DIR = "/etc/maroonedpods/tls";
export const CONTROLLER_DEPLOYMENT = "maroonedpods-controller";
export const WEBHOOK_DEPLOYMENT = "maroonedpods-webhook";

/** Non-root, nothing writable but /tmp, no capabilities, the runtime's seccomp profile. */
const restrictedPod = { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } };
const restrictedContainer = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } };

const probes = (port: string) => ({
  livenessProbe: { httpGet: { path: "/healthz", port }, periodSeconds: 10, failureThreshold: 3 },
  readinessProbe: { httpGet: { path: "/readyz", port }, periodSeconds: 5 },
});

/** Replicas spread over nodes where the scheduler can, never required (a one-node cluster still runs both). */
const spread = (component: "controller" | "webhook") => ({
  podAntiAffinity: {
    preferredDuringSchedulingIgnoredDuringExecution: [
      { weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: componentLabels(component) } } },
    ],
  },
});

export type CertificateSource = "self-managed" | "cert-manager";

/** Stated in the manifests, not left to the flags' defaults, so the Helm chart has a value to replace. */
export const DEFAULT_LOGGING = { format: "json", level: "info" } as const;
const logFlags = [`--log-format=${DEFAULT_LOGGING.format}`, `--log-level=${DEFAULT_LOGGING.level}`];

export const controllerArgs = (certificates: CertificateSource): string[] => [
  "controller",
  `--namespace=${DEFAULT_SYSTEM_NAMESPACE}`,
  // The Role maroonedpods-controller-vms grants exactly this namespace.
  `--vm-namespace=${DEFAULT_VM_NAMESPACE}`,
  `--manage-webhook-certificate=${String(certificates === "self-managed")}`,
  ...logFlags,
];

function deployment(options: {
  name: string;
  image: string;
  component: "controller" | "webhook";
  serviceAccount: string;
  args: string[];
  ports: { name: string; containerPort: number }[];
  resources: Record<string, unknown>;
  volumes: Record<string, unknown>[];
  volumeMounts: Record<string, unknown>[];
  automountToken: boolean;
  env: { name: string; value: string }[];
}): Record<string, unknown> {
  const labels = componentLabels(options.component);
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: options.name, namespace: DEFAULT_SYSTEM_NAMESPACE, labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: options.serviceAccount,
          automountServiceAccountToken: options.automountToken,
          securityContext: restrictedPod,
          affinity: spread(options.component),
          containers: [
            {
              name: options.component,
              image: options.image,
              args: options.args,
              ...(options.env.length > 0 ? { env: options.env } : {}),
              ports: options.ports.map((p) => ({ ...p, protocol: "TCP" })),
              ...probes("ops"),
              resources: options.resources,
              securityContext: restrictedContainer,
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, ...options.volumeMounts],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: { sizeLimit: "16Mi" } }, ...options.volumes],
        },
      },
    },
  };
}

export function controllerWorkload(certificates: CertificateSource, image: string): Record<string, unknown>[] {
  return [
    deployment({
      name: CONTROLLER_DEPLOYMENT,
      image,
      component: "controller",
      serviceAccount: DEFAULT_CONTROLLER_SERVICE_ACCOUNT,
      args: controllerArgs(certificates),
      ports: [{ name: "ops", containerPort: PORTS.controllerOps }],
      resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "384Mi" } },
      volumes: [],
      volumeMounts: [],
      automountToken: true,
      env: [{ name: "NODE_OPTIONS", value: CONTROLLER_NODE_OPTIONS }],
    }),
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "maroonedpods-controller-metrics", namespace: DEFAULT_SYSTEM_NAMESPACE, labels: componentLabels("controller") },
      spec: { selector: componentLabels("controller"), ports: [{ name: "metrics", port: PORTS.controllerOps, targetPort: "ops", protocol: "TCP" }] },
    },
  ];
}

export function webhookWorkload(image: string): Record<string, unknown>[] {
  return [
    deployment({
      name: WEBHOOK_DEPLOYMENT,
      image,
      component: "webhook",
      serviceAccount: DEFAULT_WEBHOOK_SERVICE_ACCOUNT,
      args: ["webhook", `--tls-cert-file=${TLS_DIR}/tls.crt`, `--tls-key-file=${TLS_DIR}/tls.key`, `--port=${String(PORTS.webhook)}`, ...logFlags],
      ports: [
        { name: "https", containerPort: PORTS.webhook },
        { name: "ops", containerPort: PORTS.webhookOps },
      ],
      resources: { requests: { cpu: "100m", memory: "96Mi" }, limits: { memory: "256Mi" } },
      // Only the serving pair: the CA key is in another Secret that the webhook never mounts.
      volumes: [{ name: "tls", secret: { secretName: WEBHOOK_TLS_SECRET, items: [{ key: "tls.crt", path: "tls.crt" }, { key: "tls.key", path: "tls.key" }] } }],
      volumeMounts: [{ name: "tls", mountPath: TLS_DIR, readOnly: true }],
      automountToken: false,
      env: [],
    }),
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: WEBHOOK_SERVICE_NAME, namespace: DEFAULT_SYSTEM_NAMESPACE, labels: componentLabels("webhook") },
      spec: {
        selector: componentLabels("webhook"),
        ports: [
          { name: "https", port: 443, targetPort: "https", protocol: "TCP" },
          { name: "metrics", port: PORTS.webhookOps, targetPort: "ops", protocol: "TCP" },
        ],
      },
    },
    {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: WEBHOOK_DEPLOYMENT, namespace: DEFAULT_SYSTEM_NAMESPACE },
      // failurePolicy Fail: a drain must never take the last webhook replica, or selected pods cannot be created.
      spec: { minAvailable: 1, selector: { matchLabels: componentLabels("webhook") } },
    },
  ];
}

const fromScrapers = (port: number) => ({
  from: [{ namespaceSelector: { matchLabels: { [METRICS_SCRAPER_NAMESPACE_LABEL]: "true" } } }],
  ports: [{ protocol: "TCP", port }],
});

/**
 * Ingress to the system namespace is closed except: the admission port from
 * anywhere (the API server often runs on the host network, which no selector
 * names) and the metrics ports from namespaces labeled as scrapers. The webhook
 * dials nothing, so its egress is closed too; the controller needs the API
 * server, whose address no portable policy can name.
 */
export function networkPolicies(): Record<string, unknown>[] {
  const policy = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: DEFAULT_SYSTEM_NAMESPACE },
    spec,
  });
  return [
    policy("maroonedpods-default-deny-ingress", { podSelector: {}, policyTypes: ["Ingress"] }),
    policy("maroonedpods-webhook", {
      podSelector: { matchLabels: componentLabels("webhook") },
      policyTypes: ["Ingress", "Egress"],
      // Egress listed in policyTypes with no egress rules: nothing may leave.
      ingress: [{ ports: [{ protocol: "TCP", port: PORTS.webhook }] }, fromScrapers(PORTS.webhookOps)],
    }),
    policy("maroonedpods-controller", {
      podSelector: { matchLabels: componentLabels("controller") },
      policyTypes: ["Ingress"],
      ingress: [fromScrapers(PORTS.controllerOps)],
    }),
  ];
}
