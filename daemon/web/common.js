// common.js — what every page shares: the token (entered once, kept in sessionStorage), API
// calls with it as the Bearer header, and small DOM helpers. Text from the daemon is always
// put into the page with textContent, never as HTML.
"use strict";

const wb = {
  token() { return sessionStorage.getItem("wb-token") || ""; },

  // Shows the token form in `box` until a token is saved, then calls `ready`.
  requireToken(box, ready) {
    if (wb.token()) { ready(); return; }
    box.hidden = false;
    const input = box.querySelector("input");
    input.focus();
    box.querySelector("form").addEventListener("submit", (e) => {
      e.preventDefault();
      if (!input.value.trim()) return;
      sessionStorage.setItem("wb-token", input.value.trim());
      box.hidden = true;
      ready();
    });
  },

  forgetToken() { sessionStorage.removeItem("wb-token"); },

  // fetch() with the token; resolves to {status, body} (body parsed when JSON).
  async api(path, options = {}) {
    const headers = Object.assign({}, options.headers || {});
    if (wb.token()) headers["Authorization"] = "Bearer " + wb.token();
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(path, {method: options.method || "GET", headers,
                                   body: options.body === undefined ? undefined : JSON.stringify(options.body)});
    const text = await res.text();
    let body = text;
    try { body = JSON.parse(text); } catch (e) { /* not JSON */ }
    return {status: res.status, body};
  },

  // The message of an error answer ({"error":{"message"}}), or the status.
  errorText(r) {
    return (r.body && r.body.error && r.body.error.message) || ("HTTP " + r.status);
  },

  // <tag> with text content and attributes.
  el(tag, text, attrs = {}) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  },

  // A <table> from a header row and rows of cells.
  table(head, rows) {
    const t = wb.el("table");
    const tr = wb.el("tr");
    head.forEach((h) => tr.appendChild(wb.el("th", h)));
    t.appendChild(tr);
    rows.forEach((row) => {
      const r = wb.el("tr");
      row.forEach((c) => r.appendChild(wb.el("td", c)));
      t.appendChild(r);
    });
    return t;
  },

  pct(x) { return x === null || x === undefined ? "–" : (100 * x).toFixed(1) + "%"; },
};
