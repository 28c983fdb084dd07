// The frame around every view: who is signed in, the sections of an app, and which view an app route opens.
import { clear, h } from "../dom.js";
import * as router from "../router.js";
import * as overview from "./overview.js";
import * as settings from "./settings.js";
import * as agents from "./agents.js";
import * as calls from "./calls.js";
import * as call from "./call.js";
import * as deliveries from "./deliveries.js";
import * as sandbox from "./sandbox.js";

const SECTIONS = [
  ["overview", "Overview", overview.render],
  ["settings", "Settings", settings.render],
  ["agents", "Agents", agents.render],
  ["calls", "Calls", calls.render],
  ["deliveries", "Deliveries", deliveries.render],
  ["sandbox", "Sandbox", sandbox.render],
];

/** The view of an app route: #/app/<section>[/<CallSid>]. */
export function pick([section = "overview", id]) {
  if (section === "calls" && id) return ["call", call.render];
  const found = SECTIONS.find(([name]) => name === section) || SECTIONS[0];
  return [found[0], found[2]];
}

/** The header (who is signed in) and the section tabs of an app. */
export function frame(who, view) {
  const label = document.getElementById("who");
  const signOut = document.getElementById("sign-out");
  const nav = document.getElementById("nav");
  signOut.hidden = !who;
  if (!who) label.textContent = "";
  else if (who.kind === "app") label.textContent = `App: ${who.app?.AppName || who.id}`;
  else if (who.kind === "customer") label.textContent = `Customer ${who.id}`;
  else label.textContent = "Operator";
  nav.hidden = !who || who.kind !== "app";
  if (nav.hidden) return clear(nav);
  const current = view === "call" ? "calls" : view;
  const sections = SECTIONS.filter(([name]) => name !== "sandbox" || who.app?.ExotelDomain === "sandbox");
  clear(
    nav,
    h(
      "ul",
      {},
      sections.map(([name, title]) =>
        h("li", {}, h("a", { href: router.href(["app", name]), "aria-current": name === current ? "page" : null }, title)),
      ),
    ),
  );
}
