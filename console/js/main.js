// The console's entry: picks the view for the route and the signed-in identity, renders it, and
// marks when it became interactive (performance measure "interactive <view>", body[data-ready]).
import * as router from "./router.js";
import * as session from "./session.js";
import * as api from "./api.js";
import { clear, errorBox, h } from "./dom.js";
import * as signin from "./views/signin.js";
import * as shell from "./views/app_shell.js";
import * as customer from "./views/customer.js";
import * as operator from "./views/operator.js";

const main = document.getElementById("main");
let generation = 0;
let timers = [];
let firstRender = true;

function stopTimers() {
  for (const timer of timers) clearInterval(timer);
  timers = [];
}

/** The view for a route: [name, render(main, ctx)]. */
function pick(route, who) {
  const [section, ...rest] = route.path;
  if (section === "signin" || !who) return ["signin", signin.render];
  if (who.kind === "app") return shell.pick(rest.length || section === "app" ? rest : []);
  if (who.kind === "customer") return ["customer", customer.render];
  if (who.kind === "operator") return operator.pick(section === "operator" ? rest : []);
  return ["signin", signin.render];
}

async function render() {
  const mine = ++generation;
  stopTimers();
  const started = firstRender ? 0 : performance.now();
  firstRender = false;
  const route = router.current();
  if (route.link) return exchangeLink(route.link, route.next);
  const who = session.current();
  const [name, view] = pick(route, who);
  document.body.dataset.ready = "";
  document.body.dataset.view = name;
  shell.frame(who, name);
  const ctx = {
    route,
    who,
    /** False once the user has moved on: a late answer must not draw over the next view. */
    alive: () => mine === generation,
    every(ms, task) {
      if (mine === generation) timers.push(setInterval(() => mine === generation && task(), ms));
    },
    rerender: () => mine === generation && render(),
  };
  main.setAttribute("aria-busy", "true");
  try {
    await view(main, ctx);
  } catch (error) {
    if (mine !== generation) return;
    clear(main, h("h1", {}, "Something went wrong"), errorBox(error));
  }
  if (mine !== generation) return;
  main.removeAttribute("aria-busy");
  const heading = main.querySelector("h1")?.textContent;
  document.title = heading ? `${heading} · integrations-core console` : "integrations-core console";
  performance.measure(`interactive ${name}`, { start: started, end: performance.now() });
  document.body.dataset.ready = name;
}

/** #link=<code>[&next=<app route>]: trades a console link's code for an app token (single use), then
 * opens the app at `next` or its overview. */
async function exchangeLink(code, next) {
  router.replace(["signin"]);
  clear(main, h("p", { class: "muted" }, "Opening the console link…"));
  try {
    const token = await api.request("POST", "/console_link/exchange", { body: { Code: code }, token: "" });
    const app = await api.request("GET", "/app", { query: { entity: "app" }, token });
    session.signIn("app", token, app.AppID, { app });
    if (next) history.replaceState(null, "", `#${next}`);
    else router.replace(["app", "overview"]);
  } catch (error) {
    session.signOut();
    router.replace(["signin"], { error: `This console link cannot be used: ${error.message}` });
  }
  // The page the link opens counts from the navigation, exchange included.
  firstRender = true;
  render();
}

window.addEventListener("console:unauthorized", (event) => {
  const who = session.current();
  session.signOut();
  router.go(["signin"], { entity: who?.kind, id: who?.id, error: `Signed out: ${event.detail}` });
});
// The skip link moves the focus, not the route (the hash belongs to the router).
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
document.getElementById("sign-out").addEventListener("click", () => {
  session.signOut();
  router.go(["signin"]);
});
router.onChange(render);
render();
