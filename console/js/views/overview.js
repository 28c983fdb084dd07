// An app at a glance: what it is, whether it is on, and its webhooks of the last 24 hours.
import * as api from "../api.js";
import * as router from "../router.js";
import * as session from "../session.js";
import { badge, busy, clear, h, rfc3339, showError, timeElement } from "../dom.js";

const STATUSES = ["delivered", "dead", "pending"];

export async function render(main, ctx) {
  const app = await api.get("/app", { entity: "app" });
  session.update({ app });
  const since = rfc3339(new Date(Date.now() - 24 * 3600 * 1000));
  const counts = await Promise.all(STATUSES.map((status) => api.count("/webhook_deliveries", { status, since }, "Deliveries")));
  if (!ctx.alive()) return;

  const health = h(
    "dl",
    { class: "stats", id: "webhook-health" },
    STATUSES.map((status, i) =>
      h(
        "div",
        { class: "stat" },
        h("dt", {}, status),
        h(
          "dd",
          { dataset: { status } },
          h("a", { href: router.href(["app", "deliveries"], { status, since }) }, `${counts[i].total}${counts[i].more ? "+" : ""}`),
        ),
      ),
    ),
  );
  const linkSlot = h("div", { class: "slot" });
  const linkButton = h("button", { type: "button", id: "console-link" }, "Create a console link");
  linkButton.addEventListener("click", () =>
    busy(linkButton, linkSlot, async () => {
      const link = await api.post("/app/console_link", {});
      const output = h("input", { id: "console-link-url", readonly: true, value: link.Url });
      clear(
        linkSlot,
        h("div", { class: "field" }, h("label", { for: "console-link-url" }, "Single-use link (opens this console signed in as this app)"), output),
        h("p", { class: "muted small" }, "Valid until ", timeElement(link.ExpiresAt), "; it works once."),
      );
      output.select();
    }),
  );

  clear(
    main,
    h("h1", {}, app.AppName),
    h(
      "section",
      { class: "card", "aria-labelledby": "app-title" },
      h("h2", { id: "app-title" }, "App"),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "AppID"),
        h("dd", { class: "mono" }, app.AppID),
        h("dt", {}, "CustomerID"),
        h("dd", { class: "mono" }, app.CustomerID),
        h("dt", {}, "Exotel account"),
        h("dd", { class: "mono" }, app.ExotelAccountSid),
        h("dt", {}, "Domain"),
        h("dd", { id: "app-domain" }, app.ExotelDomain),
        h("dt", {}, "Active"),
        h("dd", { id: "app-active" }, badge(app.IsActive ? "active" : "inactive")),
        h("dt", {}, "Created"),
        h("dd", {}, timeElement(app.CreatedAt)),
      ),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "health-title" },
      h("h2", { id: "health-title" }, "Webhooks in the last 24 hours"),
      health,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "link-title" },
      h("h2", { id: "link-title" }, "Console link"),
      h("p", {}, "A link that opens this console signed in as this app, without its secret: hand it to an admin user or frame it in your CRM. Valid 10 minutes, once."),
      linkButton,
      linkSlot,
    ),
  );
  showError(linkSlot, null);
}
