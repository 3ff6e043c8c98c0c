import { execFileSync } from "node:child_process";

/** The kubectl on PATH, or an error that says how to get one: a missing tool fails the test, it never skips it. */
export function requireKubectl(): string {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
    return "kubectl";
  } catch {
    throw new Error("kubectl is not on PATH: install it (e.g. `apt-get install kubectl` or from https://kubernetes.io/docs/tasks/tools/) to run this test");
  }
}
