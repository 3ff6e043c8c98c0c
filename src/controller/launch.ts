import { POD_ANNOTATIONS, POD_CONDITIONS, REASONS } from "../api/conditions.ts";
import {
  joinInfoFor,
  mintToken,
  renderCloudConfig,
  tokenSecret,
  userDataSecret,
  virtualMachineInstance,
  type BootstrapToken,
  type PodIdentity,
} from "./artifacts.ts";
import { attemptsOf, conditionOf, conditionSince, isGated, setConditionIfChanged, type Action, type Observed, type PhaseResult } from "./observed.ts";
import { waitingForNode } from "./registration.ts";
import { sizeVm } from "./sizing.ts";

const RETRY_BACKOFF_BASE_MS = 1_000;

/** The token already minted for this pod, read back from its Secret, so a restarted controller reuses it. */
function existingToken(o: Observed): BootstrapToken | undefined {
  for (const secret of o.tokens) {
    const data = secret.data ?? {};
    const id = data["token-id"];
    const value = data["token-secret"];
    if (id && value) return { id: Buffer.from(id, "base64").toString("utf8"), secret: Buffer.from(value, "base64").toString("utf8") };
  }
  return undefined;
}

/**
 * Launch: mint a bootstrap token, render the join info into a user-data
 * Secret, create the VMI. Each create is idempotent (AlreadyExists is success),
 * so a crash between them is repaired by the next reconcile.
 */
export function decideLaunch(o: Observed, randomBytes: (n: number) => Uint8Array): PhaseResult | undefined {
  if (!isGated(o.pod)) return undefined;
  const launched = conditionOf(o.pod, POD_CONDITIONS.VMLaunched);
  if (o.vmi) {
    // A VMI with no VMLaunched condition at all was created but never recorded (a failed
    // write or a crash right after createVmi). Record it: liveness times out and
    // replaces only launches it can see.
    return launched === undefined ? { actions: recordLaunch(o, Math.max(1, attemptsOf(o.pod))) } : undefined;
  }
  // A pod refused for its size is looked at again: a raised maxVMResources applies to it too.
  if (launched?.status === "True" || launched?.reason === REASONS.AttemptsExhausted) return undefined;

  const attempts = attemptsOf(o.pod);
  if (attempts > 0) {
    const readyAt = (conditionSince(o.pod, POD_CONDITIONS.VMLaunched) ?? 0) + RETRY_BACKOFF_BASE_MS * 2 ** (attempts - 1);
    if (o.now < readyAt) return { actions: [], requeueAfterMs: readyAt - o.now };
  }
  // The previous attempt's node must be gone before its name is reused. On a first
  // attempt a node with this name is not ours: registration will refuse to trust it.
  if (o.node && attempts > 0) return { actions: [{ kind: "deleteNode", name: o.vmName }] };

  const size = sizeVm(o.pod, o.config.sizing);
  if (!size.ok) {
    const condition = { type: POD_CONDITIONS.VMLaunched, status: "False", reason: REASONS.VMSizeExceedsMaximum, message: size.reason } as const;
    const changed = setConditionIfChanged(o.pod, condition);
    const warn: Action[] = changed.length > 0 ? [{ kind: "event", type: "Warning", reason: REASONS.VMSizeExceedsMaximum, message: size.reason }] : [];
    return { actions: [...changed, ...warn] };
  }

  const pod: PodIdentity = { uid: o.pod.metadata?.uid ?? "", namespace: o.pod.metadata?.namespace ?? "", name: o.pod.metadata?.name ?? "" };
  const actions: Action[] = [];
  let token = existingToken(o);
  if (!token) {
    token = mintToken(randomBytes);
    actions.push({ kind: "createSecret", secret: tokenSecret(pod, token, o.config, o.now) });
    // User data from an earlier token would carry a token that no longer exists.
    if (o.userDataSecret) actions.push({ kind: "deleteSecret", namespace: o.config.vmNamespace, name: o.userDataSecret.metadata?.name ?? "" });
  }
  if (!o.userDataSecret || actions.length > 0) {
    const cloudConfig = renderCloudConfig(joinInfoFor(pod, o.vmName, token, o.config, o.caCertHash));
    actions.push({ kind: "createSecret", secret: userDataSecret(pod, o.vmName, o.config, cloudConfig) });
  }
  // A new VM means a new node to wait for: said in the same status write as VMLaunched.
  actions.push({ kind: "createVmi", vmi: virtualMachineInstance(pod, o.vmName, o.config, size) }, ...recordLaunch(o, attempts + 1), { kind: "setCondition", condition: waitingForNode(o) });
  actions.push({ kind: "event", type: "Normal", reason: REASONS.VMCreated, message: launchMessage(o, attempts + 1) });
  return { actions };
}

const launchMessage = (o: Observed, attempt: number): string => `VM ${o.vmName} created (attempt ${attempt} of ${o.config.maxAttempts})`;

/** The pod's record of a launch: its VM and attempt number, and VMLaunched True (timeouts count from here). */
function recordLaunch(o: Observed, attempt: number): Action[] {
  return [
    { kind: "annotatePod", annotations: { [POD_ANNOTATIONS.vm]: o.vmName, [POD_ANNOTATIONS.attempts]: String(attempt) } },
    { kind: "setCondition", condition: { type: POD_CONDITIONS.VMLaunched, status: "True", reason: REASONS.VMCreated, message: launchMessage(o, attempt) } },
  ];
}
