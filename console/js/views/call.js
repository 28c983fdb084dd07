// One call's timeline, oldest first: each event with the payload it produced and the deliveries it
// queued, each with its attempts. Read again every 1.5 s, so popup, hangup and retries appear live.
import * as api from "../api.js";
import * as router from "../router.js";
import { card, detail, redraw } from "../delivery.js";
import { clear, h, json, showError, timeElement } from "../dom.js";

const REFRESH_MS = 1500;

export async function render(main, ctx) {
  const sid = ctx.route.path.at(-1);
  const slot = h("div", { class: "slot" });
  const summary = h("div", {});
  const timeline = h("ol", { class: "timeline", id: "timeline", "aria-live": "polite" });
  let seen = "";

  const refresh = async () => {
    const events = await api.get(`/call/${encodeURIComponent(sid)}/events`);
    const signature = JSON.stringify(events);
    if (signature === seen || !ctx.alive()) return;
    seen = signature;
    const ids = events.Events.flatMap((event) => event.Deliveries.map((delivery) => delivery.DeliveryId));
    const details = new Map((await Promise.all(ids.map(detail))).map((d) => [d.DeliveryId, d]));
    if (!ctx.alive()) return;
    const latest = events.Events.at(-1)?.Payload;
    clear(summary, latest ? facts(latest) : null);
    redraw(timeline, events.Events.map((event, index) => eventItem(event, index, details, refresh)));
  };
  await refresh();
  if (!ctx.alive()) return;
  clear(
    main,
    h("p", {}, h("a", { href: router.href(["app", "calls"]) }, "← All calls")),
    h("h1", {}, "Call ", h("span", { class: "mono" }, sid)),
    slot,
    h("section", { class: "card", "aria-labelledby": "call-facts" }, h("h2", { id: "call-facts" }, "Now"), summary),
    h("section", { class: "card", "aria-labelledby": "call-timeline" }, h("h2", { id: "call-timeline" }, "Timeline"), timeline),
  );
  ctx.every(REFRESH_MS, () =>
    refresh().then(
      () => showError(slot, null),
      (error) => ctx.alive() && showError(slot, error),
    ),
  );
}

function facts(call) {
  const pairs = [
    ["Direction", call.Direction],
    ["From", call.FromNumber],
    ["To", call.ToNumber],
    ["Agent", call.AppUserID || "—"],
    ["State", call.CallState],
    ["Status", call.CallStatus || "—"],
    ["Talk time", `${call.TotalDuration} s`],
    ["Started", timeElement(call.StartTime)],
    ["Ended", timeElement(call.EndTime)],
  ];
  return h("dl", { class: "facts" }, pairs.map(([name, value]) => [h("dt", {}, name), h("dd", {}, value || "—")]));
}

function eventItem(event, index, details, refresh) {
  return h(
    "li",
    { class: "event", dataset: { eventType: event.EventType } },
    h("div", { class: "event-head" }, h("strong", {}, event.EventType), h("span", { class: "muted small" }, timeElement(event.ReceivedAt))),
    h("details", { dataset: { key: `event-${index}` } }, h("summary", {}, "Call payload after this event"), json(event.Payload)),
    event.Deliveries.length
      ? event.Deliveries.map((delivery) => card(details.get(delivery.DeliveryId) || delivery, { onChange: refresh }))
      : h("p", { class: "small muted" }, "No webhook queued (no URL set for this event)."),
  );
}
