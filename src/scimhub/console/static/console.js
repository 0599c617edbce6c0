// scimhub console: calls to the integration API, error toasts and their debug info.
// Loaded on every signed-in page; page scripts use window.scimhub.api().
"use strict";

(() => {
  const body = document.body;
  if (!body || !body.dataset.adminId) return; // the sign-in page has no session

  const page = {
    orgId: body.dataset.orgId,
    adminId: body.dataset.adminId,
    adminOrgId: body.dataset.adminOrgId,
    build: body.dataset.build,
    customerType: body.dataset.customerType,
    readOnly: body.dataset.role !== "admin",
    // A setup link's wizard: no console page would let its session in, so no toast links
    // to one.
    restricted: Boolean(body.dataset.restricted),
  };
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrfToken = csrfMeta ? csrfMeta.content : "";

  // crypto.randomUUID exists only in secure contexts; getRandomValues exists everywhere.
  function uuid4() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // CONSOLE_<page uuid>_<n>, the seed's ATLAS_<uuid>_<n>: the hub keeps a well-formed
  // client id, so one page load can be followed through the hub's logs.
  const pageUuid = uuid4();
  let requestCount = 0;
  function nextTrackingId() {
    requestCount += 1;
    return `CONSOLE_${pageUuid}_${requestCount}`;
  }

  const STATUS_TEXT = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
  };

  class ApiError extends Error {
    constructor(failure) {
      super(failure.message);
      this.failure = failure;
    }
  }

  function errorMessage(body) {
    const messages = body && body.error && body.error.message;
    return Array.isArray(messages) && messages[0] ? messages[0] : {};
  }

  function errorDescription(body) {
    const description = errorMessage(body).description;
    if (description) return String(description);
    return body && body.detail ? String(body.detail) : "";
  }

  // The toast's words: the hub's error envelope carries them (`title`, listed with the
  // codes in docs/integration.md); an answer without one (no answer at all, a proxy's
  // error page) gets a generic sentence.
  function messageFor(status, body, trackingId) {
    const tid = `TrackingID: ${trackingId}`;
    const title = errorMessage(body).title;
    if (title) return `${title} ${tid}`;
    const prefix = "Azure AD integration error.";
    if (status === 0) return `Could not reach scimhub. Check your connection and try again. ${tid}`;
    if (status === 404) return `${prefix} The integration API did not find what was asked for. ${tid}`;
    if (status >= 500) return `${prefix} scimhub could not complete the request (HTTP ${status}). ${tid}`;
    const detail = errorDescription(body);
    return `${prefix} The request failed (HTTP ${status})${detail ? `: ${detail}` : ""}. ${tid}`;
  }

  // The seed's "Copy Debug Info" block. Identifiers only: the CSRF token, cookies and
  // bearer tokens never go in (the Error line is the server's response body).
  function debugInfo(f) {
    return [
      "Referrer: scimhub notification toaster-links",
      `Browser URL: ${window.location.href}`,
      `Build: ${page.build}`,
      `View Org ID: ${page.orgId}`,
      `Logged-in User ID: ${page.adminId}`,
      `Logged-in User Org ID: ${page.adminOrgId}`,
      `Logged-in User Clock UTC: ${new Date().toUTCString()}`,
      `Customer Type: ${page.customerType}`,
      `Status: ${f.status}`,
      `Status Text: ${f.statusText}`,
      `URL: ${f.url}`,
      `Tracking ID: ${f.trackingId}`,
      `Error: ${typeof f.body === "string" ? f.body : JSON.stringify(f.body, null, 2)}`,
      `Message: ${f.message}`,
    ].join("\n");
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  async function copyDebugInfo(toast, text) {
    const note = toast.querySelector(".toast-note");
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error("no clipboard");
      await navigator.clipboard.writeText(text);
      note.textContent = "Debug info copied to the clipboard.";
      note.hidden = false;
    } catch (_) {
      // No clipboard (plain http, or permission refused): show the text to copy by hand.
      const area = toast.querySelector("textarea");
      area.value = text;
      area.hidden = false;
      area.focus();
      area.select();
      note.textContent = "Copy the debug info below (Ctrl+C).";
      note.hidden = false;
    }
  }

  function showToast(failure) {
    const holder = document.getElementById("toasts");
    const toast = el("div", { class: "toast", role: "alert", "data-tracking-id": failure.trackingId },
      el("div", { class: "toast-head" },
        el("strong", {}, "scimhub Error"),
        el("button", { class: "toast-close", type: "button", "aria-label": "Close", onclick: () => toast.remove() }, "✕")),
      el("p", { class: "toast-message" }, failure.message),
      el("div", { class: "toast-links" },
        page.restricted ? null : el("a", { href: "/console/status" }, "Check for Open Incidents"),
        el("button", { class: "link", type: "button", "data-copy-debug": true, onclick: () => copyDebugInfo(toast, debugInfo(failure)) }, "Copy Debug Info"),
        page.restricted ? null : el("a", { href: `/console/troubleshooting?trackingId=${encodeURIComponent(failure.trackingId)}` }, "Troubleshoot")),
      el("p", { class: "toast-note", hidden: true }),
      el("textarea", { readonly: true, hidden: true, "aria-label": "Debug info" }));
    holder.prepend(toast);
    return toast;
  }

  // One call to the integration API. Resolves with the parsed body; on failure shows the
  // toast (unless quiet) and rejects with an ApiError carrying the failure.
  async function api(method, path, payload, options = {}) {
    const sentId = nextTrackingId();
    const headers = { Accept: "application/json", TrackingID: sentId };
    if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken;
    if (payload !== undefined) headers["Content-Type"] = "application/json";
    const url = new URL(path, window.location.origin).href;
    let response;
    try {
      response = await fetch(url, {
        method, headers, credentials: "same-origin",
        body: payload === undefined ? undefined : JSON.stringify(payload),
      });
    } catch (_) {
      const failure = { status: 0, statusText: "Network Error", url, trackingId: sentId, body: "" };
      failure.message = messageFor(0, null, sentId);
      if (!options.quiet) showToast(failure);
      throw new ApiError(failure);
    }
    const text = await response.text();
    let parsed = text;
    try { parsed = text ? JSON.parse(text) : null; } catch (_) { /* keep the text */ }
    if (response.ok) return parsed;
    const trackingId = response.headers.get("TrackingID") || (parsed && parsed.trackingId) || sentId;
    const failure = {
      status: response.status,
      statusText: response.statusText || STATUS_TEXT[response.status] || "",
      url, trackingId, body: parsed,
    };
    failure.message = messageFor(response.status, parsed, trackingId);
    if (!options.quiet) showToast(failure);
    throw new ApiError(failure);
  }

  // Forms that ask before doing something destructive.
  document.addEventListener("submit", (event) => {
    const question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  window.scimhub = { api, showToast, debugInfo, ApiError, el, page };
})();
