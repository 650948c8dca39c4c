// The order-file upload form (CSV or XLSX) used by the front page and the orders page.
"use strict";

function uploadForm(onDone) {
  const h = rp.h;
  const file = h("input", { type: "file", id: "upload-file", name: "file", required: true,
    accept: ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" });
  const tz = h("input", { type: "text", id: "upload-tz", name: "timezone", value: "UTC",
    size: "18", title: "time zone of dates written without an offset (IANA name)" });
  const dry = h("input", { type: "checkbox", id: "upload-dry" });
  const out = h("div", { class: "upload-result", "aria-live": "polite" });
  const form = h("form", { class: "upload", id: "upload-form", onsubmit: async (e) => {
    e.preventDefault();
    if (!file.files.length) return;
    const body = new FormData();
    body.append("file", file.files[0]);
    const q = new URLSearchParams({ timezone: tz.value.trim() || "UTC" });
    if (dry.checked) q.set("dry_run", "true");
    rp.show(out, h("div", { class: "msg" }, "Checking the file…"));
    try {
      const res = await rp.api(`/orders/upload?${q}`, { method: "POST", body });
      const count = (k) => (Array.isArray(res[k]) ? res[k].length : res[k]);
      const parts = ["created", "updated", "unchanged"].filter((k) => res[k] !== undefined)
        .map((k) => `${count(k)} ${k}`);
      rp.show(out, h("div", { class: "msg ok" },
        dry.checked ? "The file is valid (nothing written). " : "Orders saved. ",
        parts.join(", ")));
      if (!dry.checked && onDone) onDone(res);
    } catch (err) {
      rp.show(out, rp.errorBox(err));
    }
  } },
  h("label", {}, "Order file (CSV or Excel) ", file),
  h("label", {}, "Time zone ", tz),
  h("label", {}, dry, " only check"),
  h("button", { type: "submit" }, "Upload"),
  h("a", { href: "/static/orders-template.csv", download: "orders-template.csv" },
    "template"));
  return h("div", {}, form, out);
}
