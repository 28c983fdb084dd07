// The hash router: #/section/rest?query. A console link arrives as #link=<code>, optionally followed
// by &next=<an app route> (where the operator's link to a failing app's deliveries lands).

/** The current route: {path: ["app", "calls", "CA1"], query: URLSearchParams, link: code|null, next: route|null}. */
export function current() {
  const hash = location.hash.replace(/^#/, "");
  if (hash.startsWith("link=")) {
    const params = new URLSearchParams(hash);
    const next = params.get("next");
    return { path: [], query: new URLSearchParams(), link: params.get("link"), next: next?.startsWith("/app/") ? next : null };
  }
  const [path, query = ""] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { path: parts, query: new URLSearchParams(query), link: null, next: null };
}

/** The hash for a path and query: href("app", "calls", sid) or href(["app", "deliveries"], {status: "dead"}). */
export function href(parts, query) {
  const path = (Array.isArray(parts) ? parts : [parts]).map(encodeURIComponent).join("/");
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) if (value) params.set(name, value);
  const text = params.toString();
  return `#/${path}${text ? `?${text}` : ""}`;
}

/** Opens a route; opening the current one again renders it again (fresh data). */
export function go(parts, query) {
  const target = href(parts, query);
  if (location.hash === target) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = target;
}

/** Replaces the current entry (the code of a console link must not stay in the history). */
export function replace(parts, query) {
  history.replaceState(null, "", href(parts, query));
}

export function onChange(handler) {
  window.addEventListener("hashchange", handler);
}
