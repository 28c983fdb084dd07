// Sign in as an app (AppID + AppSecret), a customer (CustomerID + CustomerSecret) or the operator (ADMIN_TOKEN).
import * as api from "../api.js";
import * as router from "../router.js";
import * as session from "../session.js";
import { busy, clear, errorBox, field, h } from "../dom.js";

const KINDS = {
  app: { label: "App", id: "AppID", secret: "AppSecret" },
  customer: { label: "Customer", id: "CustomerID", secret: "CustomerSecret" },
  operator: { label: "Operator", id: null, secret: "Admin token" },
};

export async function render(main, ctx) {
  const query = ctx.route.query;
  // The kind asked for, else the one whose pages were asked for (#/operator, #/customer), else app.
  const section = ctx.route.path[0];
  let kind = KINDS[query.get("entity")] ? query.get("entity") : KINDS[section] ? section : "app";
  // Where to go once signed in: the page asked for, when the sign-in page stood in for it.
  const asked = ctx.route.path[0] !== "signin" && ctx.route.path.length ? location.hash.slice(1) : null;
  const next = query.get("next") || asked;
  const open = (target) => {
    if (location.hash === target) ctx.rerender();
    else location.hash = target;
  };
  const error = query.get("error");
  const slot = h("div", { class: "slot" });
  const idInput = h("input", { id: "signin-id", name: "id", autocomplete: "username", required: true, spellcheck: "false" });
  const secretInput = h("input", { id: "signin-secret", name: "secret", type: "password", autocomplete: "current-password", required: true });
  idInput.value = query.get("id") || "";
  const idField = field("", idInput);
  const secretField = field("", secretInput);
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");

  const choose = (value) => {
    kind = value;
    const spec = KINDS[kind];
    idField.hidden = !spec.id;
    idInput.required = Boolean(spec.id);
    idField.querySelector("label").textContent = spec.id || "";
    secretField.querySelector("label").textContent = spec.secret;
  };
  const radios = Object.entries(KINDS).map(([value, spec]) =>
    h("label", { class: "choice" }, h("input", { type: "radio", name: "entity", value, checked: value === kind, onchange: () => choose(value) }), spec.label),
  );

  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    h("fieldset", { class: "choices" }, h("legend", {}, "Sign in as"), radios),
    idField,
    secretField,
    slot,
    h("div", { class: "actions" }, submit),
    h("p", { class: "muted small" }, "The token stays in this tab only (sessionStorage) and is gone when the tab closes."),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, slot, async () => {
      const id = idInput.value.trim();
      const secret = secretInput.value;
      if (kind === "operator") {
        await api.request("GET", "/admin/health", { token: secret });
        session.signIn("operator", secret, "operator");
        open(next ? `#${next}` : router.href(["operator"]));
        return;
      }
      const token = await api.token(kind, id, secret);
      if (kind === "app") {
        const app = await api.request("GET", "/app", { query: { entity: "app" }, token });
        session.signIn("app", token, id, { app });
      } else {
        session.signIn("customer", token, id);
      }
      open(next ? `#${next}` : router.href(kind === "app" ? ["app", "overview"] : ["customer"]));
    });
  });
  choose(kind);
  clear(main, error ? errorBox(error) : null, form);
  (idInput.value || kind === "operator" ? secretInput : idInput).focus();
}
