// The app's delivery log: filters (kept in the address, so a link can open a filtered view), each
// delivery's attempts on demand, retry one, recover a window of finished ones.
import * as api from "../api.js";
import * as router from "../router.js";
import { card, detail } from "../delivery.js";
import { busy, clear, field, fromLocalInput, h, showError, toLocalInput } from "../dom.js";

const STATUSES = ["pending", "delivered", "dead", "expired"];
const EVENT_TYPES = ["popup", "incomingCallHangup", "missedCall", "callback", "test"];
const FILTERS = ["status", "event_type", "call_sid", "since", "until"];
const PAGE_SIZE = 20;

export async function render(main, ctx) {
  const query = ctx.route.query;
  const filters = Object.fromEntries(FILTERS.map((name) => [name, query.get(name) || ""]));
  const cursor = query.get("after") || "";
  const page = await api.get("/webhook_deliveries", { ...filters, page_size: PAGE_SIZE, last_value: cursor });
  if (!ctx.alive()) return;

  const list = h("div", { id: "deliveries", "aria-live": "polite" });
  const entry = (delivery) => {
    const holder = h("div", {});
    const more = h("button", { type: "button", class: "link" }, "Attempts and body");
    const slot = h("div", { class: "slot" });
    more.addEventListener("click", () =>
      busy(more, slot, async () => {
        clear(holder, card(await detail(delivery.DeliveryId), { showCall: true, onChange: ctx.rerender }));
      }),
    );
    clear(holder, card(delivery, { showCall: true, onChange: ctx.rerender }), more, slot);
    return holder;
  };
  clear(list, page.Deliveries.length ? page.Deliveries.map(entry) : h("p", { class: "muted" }, "No delivery matches."));

  clear(
    main,
    h("h1", {}, "Deliveries"),
    filterForm(filters),
    h(
      "section",
      { class: "card", "aria-labelledby": "deliveries-title" },
      h("h2", { id: "deliveries-title" }, "Newest first"),
      list,
      h(
        "div",
        { class: "actions" },
        cursor ? h("a", { href: router.href(["app", "deliveries"], filters) }, "Newest") : null,
        page.LastEvaluatedValue ? h("a", { href: router.href(["app", "deliveries"], { ...filters, after: page.LastEvaluatedValue }), rel: "next" }, "Older") : null,
      ),
    ),
    recoverForm(filters, ctx),
  );
}

function select(id, name, values, current, empty) {
  return h("select", { id, name }, h("option", { value: "" }, empty), values.map((value) => h("option", { value, selected: value === current }, value)));
}

function filterForm(filters) {
  const controls = {
    status: select("filter-status", "status", STATUSES, filters.status, "Any status"),
    event_type: select("filter-event-type", "event_type", EVENT_TYPES, filters.event_type, "Any event"),
    call_sid: h("input", { id: "filter-call-sid", name: "call_sid", value: filters.call_sid, spellcheck: "false" }),
    since: h("input", { id: "filter-since", name: "since", type: "datetime-local", step: 1, value: toLocalInput(filters.since) }),
    until: h("input", { id: "filter-until", name: "until", type: "datetime-local", step: 1, value: toLocalInput(filters.until) }),
  };
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "filters-title" },
    h("h2", { id: "filters-title" }, "Filters"),
    h(
      "div",
      { class: "grid" },
      field("Status", controls.status),
      field("Event", controls.event_type),
      field("CallSid", controls.call_sid),
      field("Created since", controls.since),
      field("Created until", controls.until),
    ),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Apply"), h("a", { href: router.href(["app", "deliveries"]) }, "Clear")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    router.go(["app", "deliveries"], {
      status: controls.status.value,
      event_type: controls.event_type.value,
      call_sid: controls.call_sid.value.trim(),
      since: fromLocalInput(controls.since.value),
      until: fromLocalInput(controls.until.value),
    });
  });
  return form;
}

function recoverForm(filters, ctx) {
  const since = h("input", { id: "recover-since", name: "Since", type: "datetime-local", step: 1, required: true });
  since.value = toLocalInput(filters.since || new Date(Date.now() - 3600 * 1000).toISOString());
  const until = h("input", { id: "recover-until", name: "Until", type: "datetime-local", step: 1 });
  until.value = toLocalInput(filters.until);
  const statuses = ["dead", "expired", "delivered"].map((status) =>
    h("label", { class: "choice" }, h("input", { type: "checkbox", name: "Statuses", value: status, checked: status === "dead" }), status),
  );
  const slot = h("div", { class: "slot", id: "recover-result" });
  const submit = h("button", { type: "submit", class: "primary" }, "Recover");
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "recover-title" },
    h("h2", { id: "recover-title" }, "Recover a window"),
    h("p", { class: "muted" }, "Queues again every finished delivery created in the window with one of the chosen statuses (after an outage of your endpoint). Each keeps its webhook-id, so your endpoint can drop duplicates."),
    h("div", { class: "grid" }, field("Since", since), field("Until (empty: now)", until)),
    h("fieldset", { class: "choices" }, h("legend", {}, "Statuses"), statuses),
    slot,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = statuses.map((label) => label.querySelector("input")).filter((box) => box.checked).map((box) => box.value);
    if (!since.value) return showError(slot, new Error("Since is required"));
    const body = { Since: fromLocalInput(since.value), Statuses: chosen };
    if (until.value) body.Until = fromLocalInput(until.value);
    busy(submit, slot, async () => {
      const answer = await api.post("/webhook_deliveries/recover", body);
      clear(slot, h("p", { class: "ok", role: "status" }, `Queued ${answer.Queued} deliver${answer.Queued === 1 ? "y" : "ies"} again.`), h("button", { type: "button", class: "link", onclick: ctx.rerender }, "Refresh the list"));
    });
  });
  return form;
}
