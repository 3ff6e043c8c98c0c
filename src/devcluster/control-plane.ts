import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { createCertificateAuthority, generateKeyPair, issueCertificate, privateKeyToPem, publicKeyToPem, type IssuedCertificate } from "../pki/certificates.ts";
import type { BinaryPaths } from "./binaries.ts";
import { waitUntilHealthy } from "./health.ts";
import { renderKubeconfig } from "../kube/kubeconfig.ts";
import { freeLoopbackPort } from "./ports.ts";
import { ProcessGroup } from "./processes.ts";

export const DEV_CLUSTER_NAME = "maroonedpods-dev";
const LOOPBACK = "127.0.0.1";
export const SERVICE_CIDR = "10.96.0.0/16";
const STARTUP_TIMEOUT_MS = 120_000;
const PORT_COLLISION_ATTEMPTS = 3;

export interface ControlPlaneOptions {
  readonly binaries: BinaryPaths;
  readonly logger: Logger;
  /** Where certificates, etcd data and logs go; a fresh temp directory when absent. */
  readonly workDir?: string;
  /** How long a node may miss heartbeats before it is marked NotReady (default 20). */
  readonly nodeMonitorGracePeriodSeconds?: number;
  /**
   * For real VMs: the API server also listens on this address (inside the dev network namespace, where the guests are)
   * and its certificate names it, so a guest's kubelet can reach and verify it.
   */
  readonly guestFacingAddress?: string;
  /** A fixed API server port (the dev network namespace's relay exposes the same port on the host's loopback). */
  readonly apiServerPort?: number;
}

export interface ControlPlane {
  readonly server: string;
  readonly caPem: string;
  readonly workDir: string;
  readonly adminKubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  readonly pids: readonly number[];
  /** Writes the admin kubeconfig to another path too (e.g. for kubectl). */
  writeAdminKubeconfig(path: string): Promise<void>;
  /** For fault tests: SIGKILL a component, then start it again; restart resolves once the API server is ready. */
  readonly faults: {
    kill(component: RestartableComponent): Promise<void>;
    restart(component: RestartableComponent): Promise<void>;
  };
  stop(): Promise<void>;
}

export type RestartableComponent = "etcd" | "kube-apiserver";

interface Pki {
  readonly ca: IssuedCertificate;
  readonly apiserver: IssuedCertificate;
  readonly admin: IssuedCertificate;
  readonly kubeletClient: IssuedCertificate;
  readonly scheduler: IssuedCertificate;
  readonly controllerManager: IssuedCertificate;
  readonly componentServing: IssuedCertificate;
  readonly serviceAccountPublicPem: string;
  readonly serviceAccountPrivatePem: string;
}

async function createPki(guestFacingAddress: string | undefined): Promise<Pki> {
  const ca = await createCertificateAuthority("maroonedpods-dev-ca", 3650);
  const client = (commonName: string, organizations: string[] = []) =>
    issueCertificate(ca, { commonName, organizations, usage: "client", validForDays: 365 });
  const serviceAccount = await generateKeyPair();
  return {
    ca,
    apiserver: await issueCertificate(ca, {
      commonName: "kube-apiserver",
      dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"],
      ipAddresses: [LOOPBACK, "10.96.0.1", ...(guestFacingAddress === undefined ? [] : [guestFacingAddress])],
      usage: "server",
      validForDays: 365,
    }),
    admin: await client("kubernetes-admin", ["system:masters"]),
    kubeletClient: await client("kube-apiserver-kubelet-client", ["system:masters"]),
    scheduler: await client("system:kube-scheduler"),
    controllerManager: await client("system:kube-controller-manager"),
    componentServing: await issueCertificate(ca, { commonName: "localhost", dnsNames: ["localhost"], ipAddresses: [LOOPBACK], usage: "server", validForDays: 365 }),
    serviceAccountPublicPem: await publicKeyToPem(serviceAccount.publicKey),
    serviceAccountPrivatePem: await privateKeyToPem(serviceAccount.privateKey),
  };
}

async function writeFiles(dir: string, files: Record<string, string>): Promise<Record<string, string>> {
  const paths: Record<string, string> = {};
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    await writeFile(path, content, { mode: 0o600 });
    paths[name] = path;
  }
  return paths;
}

/**
 * Starts etcd, kube-apiserver, kube-controller-manager and kube-scheduler
 * on free loopback ports, with Node,RBAC authorization, NodeRestriction,
 * bootstrap-token authentication and CSR signing, as a kubeadm cluster has.
 * On any failure everything already started is stopped before the error is thrown.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  for (let attempt = 1; ; attempt++) {
    const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), "maroonedpods-cp-")));
    try {
      return await startControlPlaneIn(workDir, options.workDir === undefined, options);
    } catch (error) {
      // Free ports are picked before the components bind them; another process on the machine can take one first.
      const collided = options.workDir === undefined && attempt < PORT_COLLISION_ATTEMPTS && (await anyLogMentions(join(workDir, "logs"), "address already in use"));
      if (!collided) throw error;
      options.logger.warn({ attempt, workDir }, "a control-plane port was taken before its component bound it; starting again on other ports");
    }
  }
}

async function anyLogMentions(logDir: string, text: string): Promise<boolean> {
  const names = await readdir(logDir).catch(() => []);
  for (const name of names) {
    if ((await readFile(join(logDir, name), "utf8").catch(() => "")).includes(text)) return true;
  }
  return false;
}

async function startControlPlaneIn(workDir: string, ownsWorkDir: boolean, options: ControlPlaneOptions): Promise<ControlPlane> {
  const { binaries, logger } = options;
  const pkiDir = join(workDir, "pki");
  const logDir = join(workDir, "logs");
  await mkdir(pkiDir, { recursive: true });
  await mkdir(logDir, { recursive: true });
  await mkdir(join(workDir, "etcd"), { recursive: true, mode: 0o700 });

  const processes = new ProcessGroup(logDir, logger);
  const stop = async () => {
    await processes.stop();
    if (ownsWorkDir) await rm(workDir, { recursive: true, force: true });
  };

  try {
    const pki = await createPki(options.guestFacingAddress);
    const etcdClientPort = await freeLoopbackPort();
    const etcdPeerPort = await freeLoopbackPort();
    const apiserverPort = options.apiServerPort ?? (await freeLoopbackPort());
    const controllerManagerPort = await freeLoopbackPort();
    const schedulerPort = await freeLoopbackPort();
    const server = `https://${LOOPBACK}:${apiserverPort}`;
    const kubeconfigFor = (name: string, cert: IssuedCertificate) =>
      renderKubeconfig({ clusterName: DEV_CLUSTER_NAME, server, caPem: pki.ca.certPem, user: { name, clientCertificatePem: cert.certPem, clientKeyPem: cert.keyPem } });
    const files = await writeFiles(pkiDir, {
      "ca.crt": pki.ca.certPem,
      "ca.key": pki.ca.keyPem,
      "apiserver.crt": pki.apiserver.certPem,
      "apiserver.key": pki.apiserver.keyPem,
      "apiserver-kubelet-client.crt": pki.kubeletClient.certPem,
      "apiserver-kubelet-client.key": pki.kubeletClient.keyPem,
      "component-serving.crt": pki.componentServing.certPem,
      "component-serving.key": pki.componentServing.keyPem,
      "sa.pub": pki.serviceAccountPublicPem,
      "sa.key": pki.serviceAccountPrivatePem,
      "admin.kubeconfig": kubeconfigFor("kubernetes-admin", pki.admin),
      "scheduler.kubeconfig": kubeconfigFor("system:kube-scheduler", pki.scheduler),
      "controller-manager.kubeconfig": kubeconfigFor("system:kube-controller-manager", pki.controllerManager),
    });
    const path = (name: string): string => {
      const value = files[name];
      if (value === undefined) throw new Error(`internal: no file ${name}`);
      return value;
    };

    const etcdUrl = `http://${LOOPBACK}:${etcdClientPort}`;
    const peerUrl = `http://${LOOPBACK}:${etcdPeerPort}`;
    logger.info({ component: "etcd" }, "starting etcd");
    processes.start("etcd", binaries.etcd, [
      "--name=dev",
      `--data-dir=${join(workDir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=dev=${peerUrl}`,
      // A throwaway dev/test store: durability is not worth the fsync latency.
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);

    logger.info({ component: "kube-apiserver" }, "starting kube-apiserver");
    processes.start("kube-apiserver", binaries["kube-apiserver"], [
      `--etcd-servers=${etcdUrl}`,
      `--advertise-address=${LOOPBACK}`,
      // Inside the dev network namespace nothing but our guests can reach the other addresses.
      `--bind-address=${options.guestFacingAddress === undefined ? LOOPBACK : "0.0.0.0"}`,
      `--secure-port=${apiserverPort}`,
      `--tls-cert-file=${path("apiserver.crt")}`,
      `--tls-private-key-file=${path("apiserver.key")}`,
      `--client-ca-file=${path("ca.crt")}`,
      `--kubelet-client-certificate=${path("apiserver-kubelet-client.crt")}`,
      `--kubelet-client-key=${path("apiserver-kubelet-client.key")}`,
      // A guest's node name does not resolve; logs and exec reach its kubelet at the address the controller verified.
      "--kubelet-preferred-address-types=InternalIP",
      `--service-account-key-file=${path("sa.pub")}`,
      `--service-account-signing-key-file=${path("sa.key")}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      "--authorization-mode=Node,RBAC",
      "--enable-admission-plugins=NodeRestriction",
      "--enable-bootstrap-token-auth=true",
      "--allow-privileged=true",
      // Loopback is not a valid endpoint address for the `kubernetes` Service.
      "--endpoint-reconciler-type=none",
      "--profiling=false",
    ]);
    const adminTls = { caPem: pki.ca.certPem, certPem: pki.admin.certPem, keyPem: pki.admin.keyPem };
    await waitUntilHealthy(`${server}/readyz`, { tls: adminTls, processes, timeoutMs: STARTUP_TIMEOUT_MS });

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(path("admin.kubeconfig"));

    const componentCommon = (kubeconfig: string, port: number) => [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      `--bind-address=${LOOPBACK}`,
      `--secure-port=${port}`,
      `--tls-cert-file=${path("component-serving.crt")}`,
      `--tls-private-key-file=${path("component-serving.key")}`,
      "--leader-elect=false",
    ];
    const grace = options.nodeMonitorGracePeriodSeconds ?? 20;
    logger.info({ component: "kube-controller-manager" }, "starting kube-controller-manager");
    processes.start("kube-controller-manager", binaries["kube-controller-manager"], [
      ...componentCommon(path("controller-manager.kubeconfig"), controllerManagerPort),
      `--cluster-name=${DEV_CLUSTER_NAME}`,
      `--cluster-signing-cert-file=${path("ca.crt")}`,
      `--cluster-signing-key-file=${path("ca.key")}`,
      `--root-ca-file=${path("ca.crt")}`,
      `--service-account-private-key-file=${path("sa.key")}`,
      "--use-service-account-credentials=true",
      // bootstrapsigner signs cluster-info for kubeadm discovery; tokencleaner deletes expired tokens.
      "--controllers=*,bootstrapsigner,tokencleaner",
      `--node-monitor-grace-period=${grace}s`,
      "--node-monitor-period=2s",
      // Every marooned pod brings a node (CSR, taints, labels, TTL) and a token; at the defaults (20/s, burst 30)
      // the node lifecycle controller's queue waited 30 s on average at 1000 pods (pipeline benchmark).
      // Clusters with that much node churn raise these, as Kubernetes' own scalability tests do.
      "--kube-api-qps=100",
      "--kube-api-burst=200",
    ]);
    logger.info({ component: "kube-scheduler" }, "starting kube-scheduler");
    processes.start("kube-scheduler", binaries["kube-scheduler"], componentCommon(path("scheduler.kubeconfig"), schedulerPort));

    const componentTls = { caPem: pki.ca.certPem };
    for (const port of [controllerManagerPort, schedulerPort]) {
      await waitUntilHealthy(`https://${LOOPBACK}:${port}/healthz`, { tls: componentTls, processes, timeoutMs: STARTUP_TIMEOUT_MS });
    }

    return {
      server,
      caPem: pki.ca.certPem,
      workDir,
      adminKubeconfigPath: path("admin.kubeconfig"),
      kubeConfig,
      get pids() {
        return processes.pids;
      },
      writeAdminKubeconfig: async (target: string) => {
        await writeFile(target, kubeconfigFor("kubernetes-admin", pki.admin), { mode: 0o600 });
      },
      faults: {
        kill: (component) => processes.kill(component),
        async restart(component) {
          processes.restart(component);
          await waitUntilHealthy(`${server}/readyz`, { tls: adminTls, processes, timeoutMs: STARTUP_TIMEOUT_MS });
        },
      },
      stop,
    };
  } catch (error) {
    // Keep the work directory: its logs say why a component did not come up.
    await processes.stop();
    throw new Error(`local control plane did not start (logs in ${logDir}): ${(error as Error).message}`, { cause: error });
  }
}

