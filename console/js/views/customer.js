// A customer's view: its apps, create one (its AppSecret shown once), open an app's view.
import * as api from "../api.js";
import * as router from "../router.js";
import * as session from "../session.js";
import { badge, busy, clear, field, h, table, timeElement } from "../dom.js";

export async function render(main, ctx) {
  const [customer, apps] = await Promise.all([api.get("/customer"), api.get("/app", { entity: "customer" })]);
  if (!ctx.alive()) return;
  clear(
    main,
    h("h1", {}, customer.CustomerName),
    h(
      "section",
      { class: "card", "aria-labelledby": "apps-title" },
      h("h2", { id: "apps-title" }, "Apps"),
      apps.length
        ? table(
            null,
            ["Name", "AppID", "Domain", "Active", "Created", ""],
            apps.map((app) =>
              h(
                "tr",
                { dataset: { appId: app.AppID } },
                h("td", {}, app.AppName),
                h("td", { class: "mono" }, app.AppID),
                h("td", {}, app.ExotelDomain),
                h("td", {}, badge(app.IsActive ? "active" : "inactive")),
                h("td", {}, timeElement(app.CreatedAt)),
                h("td", {}, h("a", { href: router.href(["signin"], { entity: "app", id: app.AppID }) }, "Open (needs its AppSecret)")),
              ),
            ),
            { id: "apps" },
          )
        : h("p", { class: "muted" }, "No apps yet: create the first below."),
    ),
    createAppForm(ctx),
  );
}

function createAppForm(ctx) {
  const input = (name, attrs = {}) => h("input", { id: `app-${name}`, name, spellcheck: "false", required: true, ...attrs });
  const fields = {
    AppName: input("AppName"),
    ExotelAccountSid: input("ExotelAccountSid"),
    ExotelApiKey: input("ExotelApiKey", { autocomplete: "off" }),
    ExotelApiToken: input("ExotelApiToken", { type: "password", autocomplete: "new-password" }),
  };
  const domain = h("select", { id: "app-ExotelDomain", name: "ExotelDomain" }, ["sandbox", "mumbai", "singapore"].map((value) => h("option", { value }, value)));
  const active = h("input", { id: "app-IsActive", name: "IsActive", type: "checkbox", checked: true });
  const slot = h("div", { class: "slot", id: "app-created" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create app");
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "create-app-title" },
    h("h2", { id: "create-app-title" }, "Create an app"),
    h(
      "div",
      { class: "grid" },
      field("App name", fields.AppName),
      field("Exotel account SID", fields.ExotelAccountSid),
      field("Exotel API key", fields.ExotelApiKey),
      field("Exotel API token", fields.ExotelApiToken),
      field("Exotel domain", domain, "sandbox simulates Exotel: no telephone needed."),
    ),
    h("label", { class: "choice" }, active, "Active"),
    slot,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = Object.fromEntries(Object.entries(fields).map(([name, element]) => [name, element.value.trim()]));
    body.ExotelDomain = domain.value;
    body.IsActive = active.checked;
    busy(submit, slot, async () => {
      const app = await api.post("/app", body);
      const open = h("button", { type: "button", class: "primary" }, "Open this app");
      open.addEventListener("click", () =>
        busy(open, slot, async () => {
          const token = await api.token("app", app.AppID, app.AppSecret);
          const publicApp = await api.request("GET", "/app", { query: { entity: "app" }, token });
          session.signIn("app", token, app.AppID, { app: publicApp });
          router.go(["app", "overview"]);
        }),
      );
      clear(
        slot,
        h(
          "div",
          { class: "secret-once", role: "status" },
          h("p", { class: "ok" }, `Created ${app.AppName}. Keep the AppSecret now: it is not shown again.`),
          h("dl", { class: "facts" }, h("dt", {}, "AppID"), h("dd", { class: "mono", id: "created-app-id" }, app.AppID), h("dt", {}, "AppSecret"), h("dd", { class: "mono", id: "created-app-secret" }, app.AppSecret)),
          h("div", { class: "actions" }, open, h("button", { type: "button", onclick: ctx.rerender }, "Back to the list")),
        ),
      );
    });
  });
  return form;
}
