// The app's 7 settings: each checked in the browser by the API's rule before it is sent (the API
// has the last word), saved or removed one at a time; a webhook key can send a signed test now.
import * as api from "../api.js";
import { badge, busy, clear, h, showError, toast } from "../dom.js";

const MAX_URL_BYTES = 2048;

const SETTINGS = [
  { key: "popup", label: "Popup", kind: "webhook", help: "Called when an agent's phone rings (incoming call)." },
  { key: "incomingCallHangup", label: "Incoming call hangup", kind: "webhook", help: "Called when an answered incoming call ends." },
  { key: "missedCall", label: "Missed call", kind: "webhook", help: "Called when an incoming call was not answered." },
  { key: "callback", label: "Outbound call status", kind: "webhook", help: "Called as an outbound call is answered and ends." },
  { key: "playback", label: "Playback", kind: "url", help: "An http(s) URL." },
  { key: "streaming", label: "Streaming", kind: "ws", help: "A ws(s) URL." },
  { key: "record", label: "Record calls", kind: "record", help: "Whether outbound calls are recorded." },
];

/** The API's rule for a value, in the browser: an error message, or null when it may be sent. */
export function check(setting, value) {
  if (setting.kind === "record") return value === "true" || value === "false" ? null : `${setting.key} must be "true" or "false"`;
  const schemes = setting.kind === "ws" ? ["ws:", "wss:"] : ["http:", "https:"];
  const wanted = setting.kind === "ws" ? "ws or wss" : "http or https";
  if (!value) return `Value for ${setting.key} is required and must be a ${wanted} URL`;
  if (new TextEncoder().encode(value).length > MAX_URL_BYTES) return `Value for ${setting.key} must be at most ${MAX_URL_BYTES} characters`;
  let url;
  try {
    url = new URL(value);
  } catch {
    return `Value for ${setting.key} must be a ${wanted} URL`;
  }
  if (!schemes.includes(url.protocol)) return `Value for ${setting.key} must be a ${wanted} URL`;
  if (!url.hostname) return `Value for ${setting.key} must name a host`;
  return null;
}

export async function render(main, ctx) {
  const stored = await api.get("/app_setting");
  if (!ctx.alive()) return;
  const values = Object.fromEntries(stored.map((setting) => [setting.Key, setting.Value]));
  clear(
    main,
    h("h1", {}, "Settings"),
    h("p", { class: "muted" }, "Webhook URLs receive signed JSON (Standard Webhooks). Each setting is saved on its own."),
    SETTINGS.map((setting) => row(setting, values[setting.key])),
  );
}

function row(setting, value) {
  const id = `setting-${setting.key}`;
  const input =
    setting.kind === "record"
      ? h("select", { id, name: setting.key }, h("option", { value: "false" }, "false"), h("option", { value: "true" }, "true"))
      : h("input", { id, name: setting.key, type: "url", inputmode: "url", spellcheck: "false", placeholder: setting.kind === "ws" ? "wss://…" : "https://…" });
  input.value = value ?? (setting.kind === "record" ? "false" : "");
  const state = h("span", { class: "setting-state" }, badge(value === undefined ? "unset" : "set"));
  const slot = h("div", { class: "slot", id: `${id}-result` });
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const remove = h("button", { type: "button", class: "danger", hidden: value === undefined }, "Remove");
  const test = setting.kind === "webhook" ? h("button", { type: "button", disabled: value === undefined }, "Send test") : null;

  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": `${id}-title`, dataset: { key: setting.key } },
    h("h2", { id: `${id}-title` }, setting.label, " ", h("code", {}, setting.key), " ", state),
    h("div", { class: "field" }, h("label", { for: id }, `${setting.label} (${setting.key})`), input, h("small", { class: "muted" }, setting.help)),
    h("div", { class: "actions" }, save, remove, test),
    slot,
  );
  const saved = (now) => {
    clear(state, badge(now === undefined ? "unset" : "set"));
    remove.hidden = now === undefined;
    if (test) test.disabled = now === undefined;
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const problem = check(setting, input.value.trim());
    if (problem) return showError(slot, new Error(problem));
    busy(save, slot, async () => {
      const answer = await api.post("/app_setting", { Key: setting.key, Value: input.value.trim() });
      input.value = answer.Value;
      saved(answer.Value);
      clear(slot, h("p", { class: "ok" }, `Saved ${setting.key}.`));
    });
  });
  remove.addEventListener("click", () =>
    busy(remove, slot, async () => {
      if (!confirm(`Remove the ${setting.key} setting?`)) return;
      await api.del("/app_setting", { key: setting.key });
      input.value = setting.kind === "record" ? "false" : "";
      saved(undefined);
      toast(`Removed ${setting.key}.`);
    }),
  );
  test?.addEventListener("click", () =>
    busy(test, slot, async () => {
      const result = await api.post("/app_setting/test", { Key: setting.key });
      clear(slot, testResult(result));
    }),
  );
  return form;
}

/** What the endpoint answered to a test webhook. */
function testResult(result) {
  const answered = result.ResponseCode !== null && result.ResponseCode !== undefined;
  const good = answered && result.ResponseCode >= 200 && result.ResponseCode < 300;
  return h(
    "div",
    { class: "test-result", role: "status" },
    h(
      "p",
      {},
      good ? h("strong", { class: "ok" }, "Delivered. ") : h("strong", { class: "error-text" }, "Not delivered. "),
      `${result.Url} answered `,
      h("strong", { class: "response-code" }, answered ? String(result.ResponseCode) : "nothing"),
      ` in ${result.DurationMs} ms.`,
    ),
    result.Error ? h("p", { class: "error" }, result.Error) : null,
    result.ResponseBody ? [h("p", { class: "muted small" }, "Response body:"), h("pre", { class: "body" }, result.ResponseBody)] : null,
  );
}
