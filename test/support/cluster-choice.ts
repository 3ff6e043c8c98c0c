import { request } from "node:http";

export const REAL_CLUSTER_ENV = "MAROONEDPODS_TEST_KUBECONFIG";

export type ClusterChoice = { kind: "existing"; kubeconfigPath: string } | { kind: "k3s-container" } | { kind: "local-control-plane" };

/** True when a Docker engine answers on its socket (the client alone is not enough). */
export function dockerEngineAnswers(socketPath = "/var/run/docker.sock", timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => {
      resolve(false);
    });
    req.end();
  });
}

/** In order: a real cluster named by the environment (opt-in), k3s in Docker, the local control plane. */
export async function chooseCluster(env: NodeJS.ProcessEnv): Promise<ClusterChoice> {
  const kubeconfigPath = env[REAL_CLUSTER_ENV];
  if (kubeconfigPath) return { kind: "existing", kubeconfigPath };
  if (await dockerEngineAnswers()) return { kind: "k3s-container" };
  return { kind: "local-control-plane" };
}
