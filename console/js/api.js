// The API client: every call goes to the public API under /v2/integrations, and every failure
// becomes an ApiError carrying the envelope's Error text.
import * as session from "./session.js";

export const BASE = "/v2/integrations";

export class ApiError extends Error {
  constructor(message, code, requestId) {
    super(message);
    this.code = code;
    this.requestId = requestId;
  }
}

/** Sends one request; resolves to the envelope's Data. `token` overrides the session's. */
export async function request(method, path, { query, body, token } = {}) {
  const url = new URL(BASE + path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = {};
  const auth = token ?? session.current()?.token;
  if (auth) headers.Authorization = auth;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(`the server could not be reached (${error.message})`, 0);
  }
  let envelope;
  try {
    envelope = await response.json();
  } catch {
    throw new ApiError(`the server answered ${response.status} without a JSON envelope`, response.status);
  }
  if (envelope.Status !== "Success") {
    const error = new ApiError(envelope.Error || `the server answered ${response.status}`, envelope.Code ?? response.status, envelope.RequestId);
    if (error.code === 401 && token === undefined && session.current()) {
      window.dispatchEvent(new CustomEvent("console:unauthorized", { detail: error.message }));
    }
    throw error;
  }
  return envelope.Data;
}

export const get = (path, query) => request("GET", path, { query });
export const post = (path, body) => request("POST", path, { body: body ?? {} });
export const put = (path, body) => request("PUT", path, { body: body ?? {} });
export const del = (path, query) => request("DELETE", path, { query });

/** Trades an Id and Secret for a token (POST /token). */
export function token(entity, id, secret) {
  return request("POST", "/token", { body: { Id: id, Secret: secret, Entity: entity }, token: "" });
}

/** Counts the items of a paged list (up to `limit`), following LastEvaluatedValue. */
export async function count(path, query, listKey, limit = 1000) {
  let total = 0;
  let cursor = "";
  do {
    const page = await get(path, { ...query, page_size: 100, last_value: cursor });
    total += page[listKey].length;
    cursor = page.LastEvaluatedValue;
  } while (cursor && total < limit);
  return { total, more: Boolean(cursor) };
}
