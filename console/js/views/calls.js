// The app's calls, newest first, live: the first page is read again every second, so a new call
// shows within 2 s without a reload.
import * as api from "../api.js";
import * as router from "../router.js";
import { badge, clear, h, showError, timeElement } from "../dom.js";

const PAGE_SIZE = 20;
const REFRESH_MS = 1000;

export async function render(main, ctx) {
  const query = ctx.route.query;
  const direction = query.get("direction") || "";
  const cursor = query.get("after") || "";
  const load = () => api.get("/calls", { direction, page_size: PAGE_SIZE, last_value: cursor });
  const first = await load();
  if (!ctx.alive()) return;

  const slot = h("div", { class: "slot" });
  const body = h("tbody", {});
  const pager = h("div", { class: "actions" });
  const live = h("span", { class: "muted small", id: "calls-live" });
  let known = null;
  let drawn = "";
  const draw = (page) => {
    // Unchanged: leave the rows (and the keyboard focus on one of their links) alone.
    const signature = JSON.stringify(page);
    if (signature === drawn) return;
    drawn = signature;
    const fresh = known ? new Set(page.Calls.map((c) => c.CallSid).filter((sid) => !known.has(sid))) : new Set();
    known = new Set(page.Calls.map((c) => c.CallSid));
    clear(body, page.Calls.length ? page.Calls.map((call) => callRow(call, fresh.has(call.CallSid))) : h("tr", {}, h("td", { colspan: 8, class: "muted" }, "No calls yet.")));
    clear(
      pager,
      cursor ? h("a", { href: router.href(["app", "calls"], { direction }) }, "Newest calls") : null,
      page.LastEvaluatedValue ? h("a", { href: router.href(["app", "calls"], { direction, after: page.LastEvaluatedValue }), rel: "next" }, "Older calls") : null,
    );
  };
  draw(first);

  const filter = h(
    "select",
    { id: "calls-direction", name: "direction" },
    [["", "All directions"], ["incoming", "Incoming"], ["outbound", "Outbound"]].map(([value, label]) => h("option", { value, selected: value === direction }, label)),
  );
  filter.addEventListener("change", () => router.go(["app", "calls"], { direction: filter.value }));

  clear(
    main,
    h("h1", {}, "Calls"),
    h(
      "section",
      { class: "card", "aria-labelledby": "calls-title" },
      h("div", { class: "actions" }, h("h2", { id: "calls-title" }, "Newest first"), live),
      h("div", { class: "field inline" }, h("label", { for: "calls-direction" }, "Direction"), filter),
      slot,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { id: "calls", "aria-live": "polite" },
          h("thead", {}, h("tr", {}, ["Call", "Direction", "From", "To", "Agent", "State", "Status", "Started"].map((name) => h("th", { scope: "col" }, name)))),
          body,
        ),
      ),
      pager,
    ),
  );

  if (!cursor) {
    live.textContent = "Live: new calls appear by themselves.";
    ctx.every(REFRESH_MS, async () => {
      try {
        const page = await load();
        if (ctx.alive()) {
          draw(page);
          showError(slot, null);
        }
      } catch (error) {
        if (ctx.alive()) showError(slot, error);
      }
    });
  }
}

function callRow(call, fresh) {
  return h(
    "tr",
    { class: fresh ? "fresh" : null, dataset: { callSid: call.CallSid } },
    h("td", { class: "mono" }, h("a", { href: router.href(["app", "calls", call.CallSid]) }, call.CallSid)),
    h("td", {}, call.Direction),
    h("td", { class: "mono" }, call.FromNumber),
    h("td", { class: "mono" }, call.ToNumber),
    h("td", { class: "mono" }, call.AppUserID || "—"),
    h("td", {}, badge(call.CallState)),
    h("td", {}, call.CallStatus || "—"),
    h("td", {}, timeElement(call.StartTime || call.CreatedAt)),
  );
}
