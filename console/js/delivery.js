// One webhook delivery with its attempts (response codes, durations, response bodies) and its
// payload; a finished one can be queued again. Shared by the call page and the deliveries view.
import * as api from "./api.js";
import * as router from "./router.js";
import { badge, busy, clear, h, json, table, timeElement, toast } from "./dom.js";

const FINISHED = ["delivered", "dead", "expired"];

/** The delivery object with its Payload and AttemptLog (GET /webhook_deliveries/{id}). */
export function detail(id) {
  return api.get(`/webhook_deliveries/${encodeURIComponent(id)}`);
}

/** A card for `delivery` (a detail, or a list item with `attemptLog` given later). `onChange` runs after a retry. */
export function card(delivery, { onChange, showCall = false } = {}) {
  const slot = h("div", { class: "slot" });
  const canRetry = FINISHED.includes(delivery.Status) && delivery.EventType !== "test";
  const retry = canRetry ? h("button", { type: "button", class: "retry" }, "Retry") : null;
  retry?.addEventListener("click", () =>
    busy(retry, slot, async () => {
      await api.post(`/webhook_deliveries/${encodeURIComponent(delivery.DeliveryId)}/retry`);
      toast(`Delivery ${delivery.DeliveryId} queued again.`);
      onChange?.();
    }),
  );
  return h(
    "article",
    { class: "delivery", dataset: { deliveryId: delivery.DeliveryId, status: delivery.Status } },
    h(
      "div",
      { class: "event-head" },
      h("strong", {}, delivery.EventType),
      badge(delivery.Status),
      h("span", { class: "muted small" }, `${delivery.Attempts} attempt${delivery.Attempts === 1 ? "" : "s"}`),
      delivery.LastResponseCode !== null && delivery.LastResponseCode !== undefined ? h("span", { class: "small" }, `last answer ${delivery.LastResponseCode}`) : null,
      retry,
    ),
    h(
      "p",
      { class: "small mono" },
      "POST ",
      delivery.Url,
      showCall && delivery.CallSid ? [" · call ", h("a", { href: router.href(["app", "calls", delivery.CallSid]) }, delivery.CallSid)] : null,
    ),
    delivery.LastError ? h("p", { class: "small error-text" }, delivery.LastError) : null,
    delivery.NextAttemptAt ? h("p", { class: "small muted" }, "Next attempt ", timeElement(delivery.NextAttemptAt)) : null,
    delivery.AttemptLog ? attempts(delivery.AttemptLog) : null,
    delivery.Payload ? h("details", { dataset: { key: `payload-${delivery.DeliveryId}` } }, h("summary", {}, "Body sent"), json(delivery.Payload)) : null,
    slot,
  );
}

function attempts(log) {
  if (!log.length) return h("p", { class: "small muted" }, "Not attempted yet.");
  return table(
    "Attempts",
    ["#", "At", "Response", "Duration", "Error", "Response body"],
    log.map((attempt) =>
      h(
        "tr",
        { class: "attempt", dataset: { attempt: attempt.Attempt } },
        h("td", {}, attempt.Attempt),
        h("td", {}, timeElement(attempt.At)),
        h("td", { class: "response-code" }, attempt.ResponseCode ?? "no answer"),
        h("td", {}, `${attempt.DurationMs} ms`),
        h("td", { class: "error-text" }, attempt.Error || ""),
        h("td", {}, attempt.ResponseBody ? h("pre", { class: "body" }, attempt.ResponseBody) : ""),
      ),
    ),
    { class: "attempts" },
  );
}

/** Redraws `container` with `children`, keeping the <details> that were open still open. */
export function redraw(container, ...children) {
  const open = new Set([...container.querySelectorAll("details[open]")].map((d) => d.dataset.key));
  clear(container, ...children);
  for (const details of container.querySelectorAll("details")) if (open.has(details.dataset.key)) details.open = true;
}
