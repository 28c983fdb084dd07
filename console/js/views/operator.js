// The operator's view (ADMIN_TOKEN): queue health and the failing apps, customers and their apps;
// create and delete customers, switch apps on and off.
import * as api from "../api.js";
import * as router from "../router.js";
import { badge, busy, clear, field, h, showError, table, timeElement, toast } from "../dom.js";

/** #/operator, or #/operator/customers/<CustomerID>. */
export function pick([section, id]) {
  if (section === "customers" && id) return ["operator-customer", renderCustomer];
  return ["operator", render];
}

/** Opens an app's dead deliveries in a new tab, signed in as that app through a console link from the
 * operator API (POST /admin/apps/{AppID}/console_link): no AppSecret needed, this tab stays the operator's. */
function deliveriesButton(appId) {
  return h(
    "button",
    {
      type: "button",
      onclick: async () => {
        // Opened within the click, so that no popup blocker stops it; pointed at the link once it is made.
        const tab = window.open("", "_blank");
        try {
          const link = await api.post(`/admin/apps/${encodeURIComponent(appId)}/console_link`);
          const next = router.href(["app", "deliveries"], { status: "dead" }).slice(1);
          if (tab) {
            tab.opener = null;
            tab.location.replace(`${link.Url}&next=${encodeURIComponent(next)}`);
          }
        } catch (error) {
          tab?.close();
          toast(`No console link for ${appId}: ${error.message}`);
        }
      },
    },
    "Deliveries",
  );
}

export async function render(main, ctx) {
  const cursor = ctx.route.query.get("after") || "";
  const [health, page] = await Promise.all([api.get("/admin/health"), api.get("/admin/customers", { page_size: 20, last_value: cursor })]);
  if (!ctx.alive()) return;
  clear(
    main,
    h("h1", {}, "Operator"),
    h(
      "section",
      { class: "card", "aria-labelledby": "queue-title" },
      h("h2", { id: "queue-title" }, "Webhook queue"),
      h(
        "dl",
        { class: "stats" },
        h("div", { class: "stat" }, h("dt", {}, "Database"), h("dd", { id: "health-database" }, health.Database)),
        h("div", { class: "stat" }, h("dt", {}, "Pending"), h("dd", { id: "health-depth" }, health.QueueDepth)),
        h("div", { class: "stat" }, h("dt", {}, "Oldest pending"), h("dd", { id: "health-oldest" }, `${health.OldestPendingAgeSeconds} s`)),
      ),
      h("h3", {}, "Failing apps (dead deliveries in the last 24 h)"),
      health.FailingApps.length
        ? table(
            null,
            ["AppID", "CustomerID", "Dead (24 h)", "Pending", "Last error", ""],
            health.FailingApps.map((app) =>
              h(
                "tr",
                { dataset: { appId: app.AppID } },
                h("td", { class: "mono" }, app.AppID),
                h("td", { class: "mono" }, h("a", { href: router.href(["operator", "customers", app.CustomerID]) }, app.CustomerID)),
                h("td", { class: "dead" }, app.Dead24h),
                h("td", {}, app.Pending),
                h("td", { class: "error-text" }, app.LastError),
                h("td", {}, deliveriesButton(app.AppID)),
              ),
            ),
            { id: "failing-apps" },
          )
        : h("p", { class: "ok", id: "failing-apps" }, "No app has dead deliveries in the last 24 hours."),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "customers-title" },
      h("h2", { id: "customers-title" }, "Customers"),
      page.Customers.length
        ? table(
            null,
            ["Name", "Email", "CustomerID", "Apps", "Created"],
            page.Customers.map((customer) =>
              h(
                "tr",
                { dataset: { customerId: customer.CustomerID } },
                h("td", {}, h("a", { href: router.href(["operator", "customers", customer.CustomerID]) }, customer.CustomerName)),
                h("td", {}, customer.Email),
                h("td", { class: "mono" }, customer.CustomerID),
                h("td", {}, customer.AppCount),
                h("td", {}, timeElement(customer.CreatedAt)),
              ),
            ),
            { id: "customers" },
          )
        : h("p", { class: "muted" }, "No customers yet."),
      h(
        "div",
        { class: "actions" },
        cursor ? h("a", { href: router.href(["operator"]) }, "First page") : null,
        page.LastEvaluatedValue ? h("a", { href: router.href(["operator"], { after: page.LastEvaluatedValue }), rel: "next" }, "Next page") : null,
      ),
    ),
    createCustomerForm(),
  );
}

function createCustomerForm() {
  const name = h("input", { id: "customer-name", name: "CustomerName", required: true, maxlength: 200 });
  const email = h("input", { id: "customer-email", name: "Email", type: "email", required: true });
  const slot = h("div", { class: "slot", id: "customer-created" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create customer");
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "create-customer-title" },
    h("h2", { id: "create-customer-title" }, "Create a customer"),
    h("div", { class: "grid" }, field("Customer name", name), field("Customer email", email)),
    slot,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, slot, async () => {
      const customer = await api.post("/customer", { CustomerName: name.value.trim(), Email: email.value.trim() });
      clear(
        slot,
        h(
          "div",
          { class: "secret-once", role: "status" },
          h("p", { class: "ok" }, `Created ${customer.CustomerName}. Hand these to the customer; the secret is not shown again.`),
          h("dl", { class: "facts" }, h("dt", {}, "CustomerID"), h("dd", { class: "mono" }, customer.CustomerID), h("dt", {}, "CustomerSecret"), h("dd", { class: "mono" }, customer.CustomerSecret)),
          h("p", {}, h("a", { href: router.href(["operator", "customers", customer.CustomerID]) }, `Open ${customer.CustomerName}`)),
        ),
      );
    });
  });
  return form;
}

async function renderCustomer(main, ctx) {
  const id = ctx.route.path.at(-1);
  const customer = await api.get(`/admin/customers/${encodeURIComponent(id)}`);
  if (!ctx.alive()) return;
  const slot = h("div", { class: "slot" });
  const remove = h("button", { type: "button", class: "danger" }, "Delete customer");
  remove.addEventListener("click", () =>
    busy(remove, slot, async () => {
      if (!confirm(`Delete ${customer.CustomerName} with all its apps, agents, calls and tokens? This cannot be undone.`)) return;
      await api.del(`/admin/customers/${encodeURIComponent(id)}`);
      toast(`Deleted ${customer.CustomerName}.`);
      router.go(["operator"]);
    }),
  );
  clear(
    main,
    h("p", {}, h("a", { href: router.href(["operator"]) }, "← Operator")),
    h("h1", {}, customer.CustomerName),
    h(
      "section",
      { class: "card", "aria-labelledby": "customer-facts" },
      h("h2", { id: "customer-facts" }, "Customer"),
      h("dl", { class: "facts" }, h("dt", {}, "CustomerID"), h("dd", { class: "mono" }, customer.CustomerID), h("dt", {}, "Email"), h("dd", {}, customer.Email), h("dt", {}, "Created"), h("dd", {}, timeElement(customer.CreatedAt))),
      slot,
      h("div", { class: "actions" }, remove),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "customer-apps" },
      h("h2", { id: "customer-apps" }, `Apps (${customer.AppCount})`),
      customer.Apps.length
        ? table(null, ["Name", "AppID", "Domain", "Active", ""], customer.Apps.map((app) => appRow(app, slot)), { id: "apps" })
        : h("p", { class: "muted" }, "No apps."),
    ),
  );
}

function appRow(app, slot) {
  const state = h("td", { class: "active" }, badge(app.IsActive ? "on" : "off"));
  const toggle = h("button", { type: "button" }, app.IsActive ? "Switch off" : "Switch on");
  toggle.addEventListener("click", () =>
    busy(toggle, slot, async () => {
      const updated = await api.put(`/admin/apps/${encodeURIComponent(app.AppID)}`, { IsActive: !app.IsActive });
      app.IsActive = updated.IsActive;
      clear(state, badge(app.IsActive ? "on" : "off"));
      toggle.textContent = app.IsActive ? "Switch off" : "Switch on";
      showError(slot, null);
    }),
  );
  return h(
    "tr",
    { dataset: { appId: app.AppID } },
    h("td", {}, app.AppName),
    h("td", { class: "mono" }, app.AppID),
    h("td", {}, app.ExotelDomain),
    state,
    h("td", {}, h("div", { class: "actions" }, toggle, deliveriesButton(app.AppID))),
  );
}
