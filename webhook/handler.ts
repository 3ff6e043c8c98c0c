import { allowed, denied, patched } from "../src/admission/review.ts";
import { InvalidReviewError, type AdmissionHandler } from "../src/admission/server.ts";
import { decideMutation } from "./mutation.ts";
import type { AdmissionSettings } from "./settings.ts";

export const MUTATE_PODS_PATH = "/mutate-pods";

export function podMutationHandler(settings: AdmissionSettings): AdmissionHandler {
  return (request) => {
    const decision = decideMutation(request, settings);
    switch (decision.kind) {
      case "allow":
        return allowed(request.uid);
      case "patch":
        return patched(request.uid, decision.operations);
      case "deny":
        return denied(request.uid, decision.message);
      case "invalid":
        throw new InvalidReviewError(decision.message);
    }
  };
}
