// Small DOM helpers shared by the views: an element builder, times in the browser's zone, errors.

/** h("p", {class: "x", onclick: f}, "text", child, [more]) */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, value);
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

export function clear(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** An RFC 3339 time shown in the browser's time zone; "" stays "". */
export function time(value) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function timeElement(value) {
  return value ? h("time", { datetime: value, title: value }, time(value)) : "";
}

/** RFC 3339 (whole seconds, UTC) of a Date, as the API reads times. */
export function rfc3339(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A datetime-local input's value (the browser's zone) as RFC 3339, or "" when empty. */
export function fromLocalInput(value) {
  return value ? rfc3339(new Date(value)) : "";
}

/** An RFC 3339 time as a datetime-local input's value in the browser's zone. */
export function toLocalInput(value) {
  if (!value) return "";
  const date = new Date(value);
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 19);
}

/** An alert box with the error's text (the envelope's Error for API errors). */
export function errorBox(error) {
  const message = error && error.message ? error.message : String(error);
  return h("p", { class: "error", role: "alert" }, message);
}

/** Shows `error` in `slot` (replacing what was there); clears the slot when error is null. */
export function showError(slot, error) {
  clear(slot, error ? errorBox(error) : null);
}

export function badge(status) {
  return h("span", { class: `badge badge-${String(status || "none").toLowerCase()}` }, status || "—");
}

/** A table with a caption, column headers and rows (each an array of cells). */
export function table(caption, headers, rows, attrs = {}) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      attrs,
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, headers.map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, rows.map((cells) => (cells instanceof Node ? cells : h("tr", {}, cells.map((cell) => h("td", {}, cell)))))),
    ),
  );
}

/** A labelled form field; `input` is the control (its id is set from `name`). */
export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) input.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("small", { id: hintId, class: "muted" }, hint) : null);
}

/** Runs `action` with the button disabled and marked busy; errors land in `slot`. */
export async function busy(button, slot, action) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (slot) showError(slot, null);
  try {
    return await action();
  } catch (error) {
    if (slot) showError(slot, error);
    else throw error;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** A short status message at the bottom of the screen. */
export function toast(message) {
  const element = document.getElementById("toast");
  element.textContent = message;
  element.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (element.hidden = true), 4000);
}

/** Pretty JSON in a <pre>. */
export function json(value) {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}
