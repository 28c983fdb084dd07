// The signed-in identity, kept in sessionStorage only (never a cookie or persistent storage): it dies with the tab.

const KEY = "integrations-core.console";

/** {kind: "app"|"customer"|"operator", token, id, name?} or null. */
export function current() {
  try {
    const value = JSON.parse(sessionStorage.getItem(KEY) || "null");
    return value && value.token && value.kind ? value : null;
  } catch {
    return null;
  }
}

export function signIn(kind, token, id, extra = {}) {
  sessionStorage.setItem(KEY, JSON.stringify({ kind, token, id, ...extra }));
}

export function update(fields) {
  const now = current();
  if (now) sessionStorage.setItem(KEY, JSON.stringify({ ...now, ...fields }));
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}
