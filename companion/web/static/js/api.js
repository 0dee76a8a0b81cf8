// The window's one door to the daemon: same-origin fetch with the session cookie and the CSRF token.

let csrfToken = null;
const SAFE = new Set(["GET", "HEAD"]);
let onSessionEnded = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `the companion answered ${status}`);
    this.status = status;
    this.code = error.code || "internal";
    this.details = error.details || [];
    this.paths = error.paths || [];
  }
}

export function whenSessionEnds(callback) {
  onSessionEnded = callback;
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (!SAFE.has(method)) {
    headers["X-CSRF-Token"] = csrfToken || "";
  }
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (cause) {
    throw new ApiError(0, {
      error: { code: "daemon.unavailable", message: "The companion is not answering. Is it still running?" },
    });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (cause) {
    data = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (error.code === "auth.session") {
      onSessionEnded(error);
    }
    throw error;
  }
  return data;
}

export async function startSession() {
  const session = await api("GET", "/api/window/session");
  csrfToken = session.csrf_token;
  return session;
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body === undefined ? {} : body);
export const patch = (path, body) => api("PATCH", path, body);
export const put = (path, body) => api("PUT", path, body);
export const del = (path) => api("DELETE", path);
