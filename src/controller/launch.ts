import { POD_CONDITIONS, REASONS, type Reason } from "../api/conditions.ts";
import {
  joinInfoFor,
  mintToken,
  renderCloudConfig,
  tokenSecret,
  userDataSecret,
  virtualMachineInstance,
  vmNameFor,
  type BootstrapToken,
  type PodIdentity,
} from "./artifacts.ts";
import { act, attemptsMessage, attemptsOf, conditionOf, conditionSince, isGated, isOwnNode, setConditionIfChanged, SKIP, wait, warning, type Action, type Observed, type PhaseResult } from "./observed.ts";
import { waitingForNode } from "./registration.ts";
import { sizeVm } from "./sizing.ts";

const RETRY_BACKOFF_BASE_MS = 1_000;
const RETRY_BACKOFF_MAX_MS = 5 * 60_000;
/** The API server assigns every pod a UUID; a VM and node name is built from nothing else. */
const POD_UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

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
export function decideLaunch(o: Observed, randomBytes: (n: number) => Uint8Array): PhaseResult {
  if (!isGated(o.pod)) return SKIP;
  const launched = conditionOf(o.pod, POD_CONDITIONS.VMLaunched);
  if (o.vmi) {
    // A VMI with no VMLaunched condition at all was created but never recorded (a failed
    // write or a crash right after createVmi). Record it: liveness times out and
    // replaces only launches it can see.
    return launched === undefined ? act(recordLaunch(o, Math.max(1, attemptsOf(o.pod)))) : SKIP;
  }
  // Launched and gone: liveness replaces it. Exhausted: nothing more to try.
  if (launched?.status === "True") return SKIP;
  if (launched?.reason === REASONS.AttemptsExhausted) return wait();
  // A pod refused for its size is looked at again: a raised maxVMResources applies to it too.

  const attempts = attemptsOf(o.pod);
  if (attempts > 0) {
    const readyAt = (conditionSince(o.pod, POD_CONDITIONS.VMLaunched) ?? 0) + Math.min(RETRY_BACKOFF_MAX_MS, RETRY_BACKOFF_BASE_MS * 2 ** (attempts - 1));
    if (o.now < readyAt) return wait(readyAt - o.now);
  }
  const refusal = refusalOf(o);
  if (refusal) return refuse(o, refusal);
  // A node this pod's VM registered, left from an earlier VM of the same name: gone before the name is reused.
  if (o.node) return act([{ kind: "deleteNode", name: o.vmName }]);

  const size = sizeVm(o.pod, o.config.sizing);
  if (!size.ok) return refuse(o, { reason: size.problem === "exceedsCharge" ? REASONS.VMCostExceedsCharge : REASONS.VMSizeExceedsMaximum, message: size.reason });

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
  const report = { type: "Normal", reason: REASONS.VMCreated, message: launchMessage(o, attempts + 1) } as const;
  actions.push({ kind: "createVmi", vmi: virtualMachineInstance(pod, o.vmName, o.config, size), report }, ...recordLaunch(o, attempts + 1), { kind: "setCondition", condition: waitingForNode(o) });
  return act(actions);
}

const launchMessage = (o: Observed, attempt: number): string => `VM ${o.vmName} created (${attemptsMessage(attempt, o.config.maxAttempts)})`;

/**
 * Why no VM may be made under this name: the name must be the controller's own, derived from the pod's UID, and no
 * node may hold it already unless this pod's own VM registered it (a token for an existing node's name would hand
 * that node's credentials to the guest).
 */
interface Refusal {
  readonly reason: Reason;
  readonly message: string;
  /** Looked at again this much later: what stands in the way may go without the pod hearing of it. */
  readonly recheckMs?: number;
}
const NODE_NAME_RECHECK_MS = 30_000;

function refusalOf(o: Observed): Refusal | undefined {
  const uid = o.pod.metadata?.uid ?? "";
  if (!POD_UID.test(uid) || o.vmName !== vmNameFor(o.config, uid)) {
    return { reason: REASONS.NodeNameInUse, message: `${o.vmName} is not a VM name this controller makes for pod UID ${uid}` };
  }
  if (o.node && !isOwnNode(o)) {
    return { reason: REASONS.NodeNameInUse, message: `a node named ${o.vmName} exists and is not this pod's: no VM will take its name`, recheckMs: NODE_NAME_RECHECK_MS };
  }
  return undefined;
}

/** VMLaunched False with the reason, and a Warning the first time it is said. */
function refuse(o: Observed, { reason, message, recheckMs }: Refusal): PhaseResult {
  const condition = { type: POD_CONDITIONS.VMLaunched, status: "False", reason, message } as const;
  return act(setConditionIfChanged(o.pod, condition, warning(condition)), recheckMs);
}

/**
 * The pod's record of a launch, in its status where its creator cannot write: VMLaunched True (timeouts count from
 * here) and the attempt number.
 */
function recordLaunch(o: Observed, attempt: number): Action[] {
  return [
    { kind: "setCondition", condition: { type: POD_CONDITIONS.VMLaunched, status: "True", reason: REASONS.VMCreated, message: launchMessage(o, attempt) } },
    { kind: "setCondition", condition: { type: POD_CONDITIONS.VMAttempts, status: "True", reason: REASONS.VMCreated, message: attemptsMessage(attempt, o.config.maxAttempts) } },
  ];
}
