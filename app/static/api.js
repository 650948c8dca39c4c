// rackplan pages: the API key, fetch with problem+json errors, small DOM and time helpers.
"use strict";

const rp = (() => {
  const KEY = "rackplan.apiKey";

  function apiKey() {
    try { return localStorage.getItem(KEY) || ""; } catch (e) { return ""; }
  }

  function setApiKey(value) {
    try {
      if (value) localStorage.setItem(KEY, value); else localStorage.removeItem(KEY);
    } catch (e) { /* private mode: the key lives for this page only */ }
  }

  class ApiError extends Error {
    constructor(status, body) {
      super(describe(status, body));
      this.status = status;
      this.body = body;
    }
  }

  function describe(status, body) {
    if (body && typeof body === "object") {
      return body.detail || body.title || `HTTP ${status}`;
    }
    return `HTTP ${status}`;
  }

  // fetch `url` with the key; JSON answers are parsed; an error answer throws ApiError
  async function api(url, opts = {}) {
    const headers = new Headers(opts.headers || {});
    const key = apiKey();
    if (key) headers.set("X-API-Key", key);
    if (opts.json !== undefined) {
      headers.set("Content-Type", "application/json");
      opts = { ...opts, body: JSON.stringify(opts.json) };
    }
    const res = await fetch(url, { ...opts, headers });
    const type = res.headers.get("Content-Type") || "";
    if (opts.raw && res.ok) return res;
    const body = type.includes("json") ? await res.json() : await res.text();
    if (!res.ok) {
      if (res.status === 401) document.dispatchEvent(new CustomEvent("rp:need-key"));
      throw new ApiError(res.status, body);
    }
    return body;
  }

  // download an API file answer (exports) with the key, under the server's file name
  async function download(url, fallbackName) {
    const res = await api(url, { raw: true });
    const blob = await res.blob();
    const disp = res.headers.get("Content-Disposition") || "";
    const m = /filename="?([^";]+)"?/.exec(disp);
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = m ? m[1] : fallbackName;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  // h("div", {class: "x", onclick: f}, child, "text", ...)
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k === "style") el.style.cssText = v;  // a style attribute would break the CSP
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  // an error as a message box, with the faults the problem+json names
  function errorBox(err) {
    const box = h("div", { class: "msg error", role: "alert" }, err.message || String(err));
    const faults = err.body && Array.isArray(err.body.errors) ? err.body.errors : [];
    if (faults.length) {
      const cols = ["row", "column", "field", "id", "value", "message"].filter(
        (c) => faults.some((f) => f[c] !== undefined));
      box.append(h("table", { class: "faults" },
        h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c)))),
        h("tbody", {}, faults.slice(0, 500).map((f) =>
          h("tr", {}, cols.map((c) => h("td", {}, f[c] === undefined ? "" : String(f[c]))))))));
      if (faults.length > 500) box.append(h("p", {}, `... and ${faults.length - 500} more`));
    }
    return box;
  }

  function show(container, ...nodes) {
    container.replaceChildren(...nodes);
  }

  const fmtCache = new Map();
  function formatter(tz, opts) {
    const k = tz + JSON.stringify(opts);
    if (!fmtCache.has(k)) {
      const f = new Intl.DateTimeFormat("en-GB", { timeZone: tz, ...opts });
      // a time not known yet (NaN while a page is still loading) reads "–", never throws
      fmtCache.set(k, { format: (d) => (Number.isFinite(+d) ? f.format(+d) : "–") });
    }
    return fmtCache.get(k);
  }

  // "Tue 01 Dec 14:00" in time zone `tz`
  function fmtTime(date, tz = "UTC") {
    return formatter(tz, { weekday: "short", day: "2-digit", month: "short",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(date);
  }

  function fmtDuration(min) {
    min = Math.round(min);
    const d = Math.floor(min / 1440), hh = Math.floor((min % 1440) / 60), mm = min % 60;
    const parts = [];
    if (d) parts.push(`${d}d`);
    if (hh) parts.push(`${hh}h`);
    if (mm || !parts.length) parts.push(`${mm}m`);
    return parts.join(" ");
  }

  // weighted tardiness (weighted minutes): "1,790 weighted min", with weighted hours
  // beside a large figure; never a duration (an order's weight multiplies its minutes)
  function fmtWeighted(min, withHours = true) {
    if (min === undefined || min === null || !Number.isFinite(Number(min))) return "–";
    const v = Math.round(Number(min));
    const text = `${v.toLocaleString("en-US")} weighted min`;
    return withHours && Math.abs(v) >= 600
      ? `${text} (${(v / 60).toLocaleString("en-US", { maximumFractionDigits: 1 })} weighted h)`
      : text;
  }

  // a signed change in minutes as "3h 20m later" / "1d earlier"
  function fmtShift(min) {
    if (!min) return "same time";
    return `${fmtDuration(Math.abs(min))} ${min > 0 ? "later" : "earlier"}`;
  }

  // "2026-12-01T06:00:00Z" as "Tue 01 Dec 06:00" (UTC); "" for none
  function fmtIso(text, tz = "UTC") {
    return text ? fmtTime(new Date(text), tz) : "";
  }

  // the key bar: a small input shown when the service asks for a key
  function keyBar(slot) {
    const input = h("input", { type: "password", id: "api-key", placeholder: "API key",
      autocomplete: "current-password", value: apiKey() });
    const save = h("button", { type: "submit", id: "api-key-save" }, "Use key");
    const forget = h("button", { type: "button", class: "link", onclick: () => {
      setApiKey("");
      location.reload();
    } }, "forget");
    const bar = h("form", { class: "keybar", hidden: !apiKey(), onsubmit: (e) => {
      e.preventDefault();
      setApiKey(input.value.trim());
      location.reload();
    } }, h("input", { type: "text", name: "username", autocomplete: "username", hidden: true,
      value: "rackplan" }), input, save, apiKey() ? forget : null);
    const toggle = h("button", { type: "button", class: "link", onclick: () => {
      bar.hidden = !bar.hidden;
    } }, "API key");
    document.addEventListener("rp:need-key", () => {
      bar.hidden = false;
      input.focus();
    });
    slot.replaceChildren(toggle, bar);
  }

  return { api, apiKey, setApiKey, ApiError, download, h, errorBox, show, fmtTime,
    fmtDuration, fmtWeighted, fmtShift, fmtIso, formatter, keyBar };
})();
