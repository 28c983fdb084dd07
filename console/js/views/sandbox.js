// Sandbox apps only: simulate an incoming call (answered or missed) to a chosen agent, or place an
// outbound call; both play through the real passthru and dispatcher.
import * as api from "../api.js";
import * as router from "../router.js";
import { busy, clear, field, h } from "../dom.js";

export async function render(main, ctx) {
  if (ctx.who.app?.ExotelDomain !== "sandbox") {
    clear(main, h("h1", {}, "Sandbox"), h("p", {}, "The simulator is for sandbox apps only; this app talks to Exotel."));
    return;
  }
  const page = await api.get("/usermapping", { page_size: 100 });
  if (!ctx.alive()) return;
  const agents = page.Users;
  const agentSelect = (id) =>
    h("select", { id, name: "user_id" }, agents.map((user) => h("option", { value: user.AppUserId }, `${user.AppUsername} (${user.AppUserId})`)));
  clear(
    main,
    h("h1", {}, "Sandbox"),
    agents.length ? null : h("p", { class: "error" }, "Add an agent first (Agents): a simulated call rings one."),
    inboundForm(agentSelect("inbound-agent")),
    outboundForm(agentSelect("outbound-agent")),
  );
}

function callLink(call) {
  return h(
    "p",
    { class: "ok", role: "status" },
    "Call ",
    h("a", { href: router.href(["app", "calls", call.CallSid]), class: "mono", id: "simulated-call" }, call.CallSid),
    " started: open it to watch its events and webhooks.",
  );
}

function inboundForm(agent) {
  const from = h("input", { id: "inbound-from", name: "from", type: "tel", required: true, value: "+919800000001" });
  const outcome = h("select", { id: "inbound-outcome", name: "outcome" }, h("option", { value: "answered" }, "answered"), h("option", { value: "missed" }, "missed"));
  const talk = h("input", { id: "inbound-talk", name: "talk_seconds", type: "number", min: 1, max: 3600, value: 30 });
  outcome.addEventListener("change", () => (talk.disabled = outcome.value === "missed"));
  const slot = h("div", { class: "slot" });
  const submit = h("button", { type: "submit", class: "primary" }, "Ring");
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "inbound-title" },
    h("h2", { id: "inbound-title" }, "Simulate an incoming call"),
    h("div", { class: "grid" }, field("Caller's number", from), field("Agent", agent), field("Outcome", outcome), field("Talk seconds", talk)),
    slot,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { from: from.value.trim(), user_id: agent.value || undefined, outcome: outcome.value };
    if (outcome.value === "answered" && talk.value) body.talk_seconds = Number(talk.value);
    busy(submit, slot, async () => clear(slot, callLink(await api.post("/sandbox/inbound_call", body))));
  });
  return form;
}

function outboundForm(agent) {
  const to = h("input", { id: "outbound-to", name: "to", type: "tel", required: true, value: "+919800000002" });
  const slot = h("div", { class: "slot" });
  const submit = h("button", { type: "submit", class: "primary" }, "Call");
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "outbound-title" },
    h("h2", { id: "outbound-title" }, "Place an outbound call"),
    h("p", { class: "muted small" }, "From the agent's SIP line. A number ending in 0000 goes unanswered."),
    h("div", { class: "grid" }, field("Number to call", to), field("Agent", agent)),
    slot,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, slot, async () => clear(slot, callLink(await api.post("/call/outbound_call", { to: to.value.trim(), user_id: agent.value }))));
  });
  return form;
}
