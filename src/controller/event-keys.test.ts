import { describe, expect, it } from "vitest";
import { eventKeyHandlers } from "./event-keys.ts";
import { makeNode, makePod, makeVmi, POD_NAME, POD_NAMESPACE } from "./fixtures.test-support.ts";

const KEY = `${POD_NAMESPACE}/${POD_NAME}`;

function setup() {
  const added: string[] = [];
  return { handlers: eventKeyHandlers({ add: (key, urgent) => { added.push(`${key}${urgent ? " urgent" : ""}`); } }), added };
}

describe("eventKeyHandlers", () => {
  it("maps pods, their owned objects and their nodes to the pod's key; node events are urgent", () => {
    const { handlers, added } = setup();
    handlers.pods.onAdd?.(makePod());
    handlers.owned.onUpdate?.(makeVmi(), makeVmi());
    handlers.nodes.onAdd?.(makeNode());
    expect(added).toEqual([KEY, KEY, `${KEY} urgent`]);
  });

  it("drops node events for a UID no pod has, or after the pod is gone", () => {
    const { handlers, added } = setup();
    handlers.nodes.onAdd?.(makeNode());
    handlers.pods.onAdd?.(makePod());
    handlers.pods.onDelete?.(makePod());
    handlers.nodes.onUpdate?.(makeNode(), makeNode());
    handlers.nodes.onAdd?.({ metadata: { name: "worker-1" } });
    expect(added).toEqual([KEY]);
  });
});
