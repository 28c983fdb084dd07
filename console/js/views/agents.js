// The app's agents (user mappings): a paged list, add one, switch between phone and SIP, delete.
// SIP passwords never appear: the SipSecret the API sends is not shown.
import * as api from "../api.js";
import * as router from "../router.js";
import { badge, busy, clear, field, h, showError, toast } from "../dom.js";

const PAGE_SIZE = 20;

export async function render(main, ctx) {
  const cursor = ctx.route.query.get("after") || "";
  const page = await api.get("/usermapping", { page_size: PAGE_SIZE, last_value: cursor });
  if (!ctx.alive()) return;
  const slot = h("div", { class: "slot" });
  const rows = page.Users.map((user) => agentRow(user, slot, ctx));
  const pager = h(
    "div",
    { class: "actions" },
    cursor ? h("a", { href: router.href(["app", "agents"]) }, "First page") : null,
    page.LastEvaluatedValue ? h("a", { href: router.href(["app", "agents"], { after: page.LastEvaluatedValue }), rel: "next" }, "Next page") : null,
  );
  clear(
    main,
    h("h1", {}, "Agents"),
    h(
      "section",
      { class: "card", "aria-labelledby": "agents-title" },
      h("h2", { id: "agents-title" }, "Mapped agents"),
      slot,
      page.Users.length
        ? h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { id: "agents" },
              h(
                "thead",
                {},
                h("tr", {}, ["AppUserId", "Name", "Exotel user", "Email", "Agent number", "Virtual number", "SIP id", "Device", "Actions"].map((name) => h("th", { scope: "col" }, name))),
              ),
              h("tbody", {}, rows),
            ),
          )
        : h("p", { class: "muted" }, "No agents yet: add the first below."),
      pager,
    ),
    addForm(ctx),
  );
}

function activeDevice(user) {
  if (!user.ActiveDeviceId) return "off";
  if (user.ActiveDeviceId === user.PhoneDeviceID) return "phone";
  if (user.ActiveDeviceId === user.SipDeviceID) return "sip";
  return "on";
}

function agentRow(user, slot, ctx) {
  const device = activeDevice(user);
  const switchTo = (name) => {
    const button = h("button", { type: "button", disabled: device === name || (name === "phone" && !user.PhoneDeviceID) }, name === "phone" ? "Use phone" : "Use SIP");
    button.addEventListener("click", () =>
      busy(button, slot, async () => {
        await api.put("/device", { UserId: user.AppUserId, DeviceName: name, DeviceStatus: true });
        toast(`${user.AppUserId} now uses ${name === "phone" ? "the phone" : "SIP"}.`);
        ctx.rerender();
      }),
    );
    return button;
  };
  const remove = h("button", { type: "button", class: "danger" }, "Delete");
  remove.addEventListener("click", () =>
    busy(remove, slot, async () => {
      if (!confirm(`Delete agent ${user.AppUserId}? (It stays in Exotel.)`)) return;
      await api.del(`/users/${encodeURIComponent(user.AppUserId)}`);
      toast(`Deleted ${user.AppUserId}.`);
      ctx.rerender();
    }),
  );
  return h(
    "tr",
    { dataset: { user: user.AppUserId } },
    h("td", { class: "mono" }, user.AppUserId),
    h("td", {}, user.AppUsername),
    h("td", {}, user.ExotelUserName),
    h("td", {}, user.Email),
    h("td", { class: "mono" }, user.AgentNumber || "—"),
    h("td", { class: "mono" }, user.VirtualNumber),
    h("td", { class: "mono" }, user.SipId || "—"),
    h("td", { class: "device" }, badge(device)),
    h("td", {}, h("div", { class: "actions" }, switchTo("phone"), switchTo("sip"), remove)),
  );
}

function addForm(ctx) {
  const input = (name, attrs = {}) => h("input", { id: `agent-${name}`, name, spellcheck: "false", ...attrs });
  const fields = {
    AppUserId: input("AppUserId", { required: true, maxlength: 128 }),
    AppUsername: input("AppUsername", { required: true }),
    Email: input("Email", { type: "email", required: true }),
    ExotelUserName: input("ExotelUserName", { required: true, placeholder: "First Last" }),
    AgentNumber: input("AgentNumber", { type: "tel", placeholder: "+919876543210" }),
    VirtualNumber: input("VirtualNumber", { type: "tel", required: true, placeholder: "+918047000000" }),
  };
  const slot = h("div", { class: "slot" });
  const submit = h("button", { type: "submit", class: "primary" }, "Add agent");
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "add-agent-title" },
    h("h2", { id: "add-agent-title" }, "Add an agent"),
    h(
      "div",
      { class: "grid" },
      field("AppUserId", fields.AppUserId, "Your CRM's id of the agent (1–128 characters)."),
      field("Agent name", fields.AppUsername),
      field("Email", fields.Email),
      field("Exotel user name", fields.ExotelUserName, "Two words, 3–20 letters or digits each."),
      field("Agent number (optional)", fields.AgentNumber, "The agent's phone."),
      field("Virtual number", fields.VirtualNumber, "The number customers call."),
    ),
    slot,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const user = Object.fromEntries(Object.entries(fields).map(([name, element]) => [name, element.value.trim()]));
    const missing = ["AppUserId", "AppUsername", "Email", "ExotelUserName", "VirtualNumber"].filter((name) => !user[name]);
    if (missing.length) return showError(slot, new Error(`${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} required`));
    if (!user.AgentNumber) delete user.AgentNumber;
    user.ExotelAccountSid = ctx.who.app?.ExotelAccountSid;
    busy(submit, slot, async () => {
      await api.post("/usermapping", [user]);
      toast(`Added ${user.AppUserId}.`);
      ctx.rerender();
    });
  });
  return form;
}
