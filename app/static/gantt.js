// rackplan Gantt chart: one canvas, drawn from GET /schedules/{id}/gantt.
// Rows are resources grouped by site, each label with the resource's utilisation; under
// each site's band a power row draws the running kW against the cap in force. Bars are
// coloured by order, product, generation (product family), customer or slack (the
// "Colour by" select, with a legend: hovering an entry spotlights its bars, a click keeps
// it), late orders outlined in red; running steps are striped, done ones faded, fixed ones
// (the solve could not move them) carry a dark band, planned ones whose start has passed
// without a report a corner flag. A "now" line and the next
// reschedule's frozen window (shaded) come from the service's clock. Off-shift time,
// downtime and the sites' power windows are shaded; the axis shows days and hours in a
// chosen time zone with the shift starts marked. Only what is in view is drawn (10,000+
// bars). The data is fetched again every two minutes (the floor's states) and the now
// line moves with the clock in between.
// Wheel scrolls, shift+wheel pans, ctrl+wheel zooms, dragging pans; in move mode (or
// with Alt) dragging a bar drops it on another row or time (onBarDrop).
//
// new RackGantt.Gantt(rootElement, options), then .reload(). Options:
//   jobId        the schedule job to draw (required)
//   site, order  initial filters (a site id; order ids, comma-separated)
//   onChange(filters), onLoad(data)   after a filter change, after each load
//   onBarClick(bar), onLateClick(orderId)   a click on a bar, on a late order's chip
//   colorBy      "order", "product", "family", "customer" or "slack" (default: the one
//                last chosen in this browser, else "order")
//   ghosts       items of another plan (as its GET /schedules/{id}/gantt answer gives them:
//                `group`, `start` and `end` at least), drawn faded and outlined under the
//                real bars on their resource's row, placed by their own times; items on a
//                resource this chart has no row for are left out. setGhosts(items) changes
//                them later (null or [] clears them).
//   refreshSeconds   how often the data is fetched again (default 120; 0: never)
//   onBarDrop(bar, {group, start_min})   a bar dragged in move mode (moveMode, or with
//                Alt) and dropped on a row and time
"use strict";

const RackGantt = (() => {
  const LABEL_W = 170;
  const AXIS_H = 46;
  const SITE_H = 22;
  const PAD = 3;
  const MIN_BAR = 1;
  const POWER_H = 40;
  const MINUTE = 60000;
  const COLORS = {
    bg: "#ffffff", alt: "#f7f8fa", grid: "#e1e4e8", midnight: "#9aa3ad", offShift: "#e9ebee",
    downtime: "#c9ced4", text: "#1f2328", muted: "#57606a", site: "#eef2f7", late: "#d1242f",
    shift: "#5b8def", due: "#d1242f", delivery: "#1a7f37",
    // power windows: a lower cap (a demand-response evening), a higher one (a new hall)
    powerLow: "#f2c879", powerHigh: "#a8dbb4",
    powerLowTint: "rgba(242, 170, 40, 0.13)", powerHighTint: "rgba(26, 127, 55, 0.08)",
    // the floor's truth: now, the frozen window, the states, the power rows, ghosts
    now: "#8250df", frozenTint: "rgba(84, 112, 198, 0.10)", frozenEdge: "#5470c6",
    frozenStrip: "#9fb1e3", fixed: "#24292f", doneFade: "rgba(255, 255, 255, 0.62)",
    running: "rgba(255, 255, 255, 0.45)", powerBg: "#fbfcfe", powerLoad: "#7ea7d8",
    powerAtCap: "#e0952a", powerCap: "#b42318", ghostFill: "rgba(110, 119, 129, 0.14)",
    ghostEdge: "#6e7781", focusFade: "rgba(255, 255, 255, 0.8)", behind: "#bf3989",
  };

  // a qualitative palette for products, families and customers (a few each)
  const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1",
    "#edc948", "#9c755f", "#ff9da7", "#2f4b7c", "#a0cbe8", "#8cd17d"];
  const NONE_COLOR = "#a8b0b9";
  // slack (due minus delivery) in bands, late to comfortable
  const SLACK_BANDS = [
    { key: "late>1d", label: "late > 1 day", color: "#a40e26", test: (m) => m < -1440 },
    { key: "late", label: "late ≤ 1 day", color: "#e5534b", test: (m) => m < 0 },
    { key: "<1d", label: "slack < 1 day", color: "#e3a008", test: (m) => m < 1440 },
    { key: "<3d", label: "slack 1–3 days", color: "#8cc265", test: (m) => m < 3 * 1440 },
    { key: ">=3d", label: "slack ≥ 3 days", color: "#2f8f46", test: () => true },
  ];
  const COLOR_BY = [["order", "order"], ["product", "product"],
    ["family", "generation"], ["customer", "customer"], ["slack", "slack"]];

  // the planner's last "Colour by", kept in the browser
  const COLOR_KEY = "rackplan.ganttColorBy";
  function savedColorBy() {
    try { return localStorage.getItem(COLOR_KEY); } catch (e) { return null; }
  }

  function hslHex(hue, sat, light) {
    const s = sat / 100, l = light / 100;
    const k = (n) => (n + hue / 30) % 12;
    const a = s * Math.min(l, 1 - l);
    const f = (n) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
    return "#" + [f(0), f(8), f(4)].map((x) => Math.round(x * 255).toString(16)
      .padStart(2, "0")).join("");
  }

  // the k-th order's colour: hues a golden angle apart (neighbours in the schedule, which
  // often run side by side, differ most), in three lightness tiers
  function indexColor(k) {
    const hue = (k * 137.508) % 360;
    return hslHex(hue, 62, [46, 60, 36][k % 3]);
  }

  // dark text on light fills, white on dark ones
  function inkOn(hex) {
    const n = parseInt(hex.slice(1), 16);
    const lum = 0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255);
    return lum > 150 ? "#1f2328" : "#ffffff";
  }

  function hashStr(s) {
    let x = 2166136261;
    for (let i = 0; i < s.length; i++) {
      x ^= s.charCodeAt(i);
      x = Math.imul(x, 16777619);
    }
    return x >>> 0;
  }

  // a stable colour per order: hue from the id's hash, spread by the golden ratio
  function orderColor(id) {
    const hsh = hashStr(id);
    const hue = Math.round(((hsh * 0.6180339887) % 1) * 360 + (hsh % 360)) % 360;
    const light = 48 + ((hsh >>> 9) % 3) * 8;
    return `hsl(${hue}, 62%, ${light}%)`;
  }

  // first index in sorted `arr` with arr[i] >= v
  function lowerBound(arr, v) {
    let lo = 0, hi = arr.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (arr[mid] < v) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  // first pair index in sorted [[a, b], ...] with b > v
  function firstEndingAfter(pairs, v) {
    let lo = 0, hi = pairs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pairs[mid][1] <= v) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  // a site's power profile as parallel arrays, and the scale's top (kW)
  function powerSteps(site) {
    const p = site.power;
    const split = (steps) => ({ t: steps.map((x) => x[0]), v: steps.map((x) => x[1]) });
    const load = split(p.load), cap = split(p.cap);
    const top = Math.max(p.peak_kw, ...cap.v.filter((v) => v !== null), 1);
    return { load, cap, max: top * 1.08 };
  }

  // the value of steps {t, v} at minute t (0 before the first)
  function stepAt(steps, t) {
    const i = lowerBound(steps.t, t + 1e-9) - 1;
    return i < 0 ? 0 : steps.v[i];
  }

  function fmtKw(kw) {
    return Math.round(kw).toLocaleString("en-US");
  }

  function fmtHours(hours) {
    return `${Number.isInteger(hours) ? hours : hours.toFixed(1)} h`;
  }

  // weighted tardiness: weighted minutes, with weighted hours beside large figures (a
  // weighted sum of lateness, never a duration)
  function fmtWeighted(min) {
    const m = Math.round(min);
    const text = `${m.toLocaleString("en-US")} weighted min`;
    return m >= 600 ? `${text} (${Math.round(m / 60).toLocaleString("en-US")} weighted h)` : text;
  }

  class Gantt {
    constructor(root, opts) {
      this.root = root;
      this.jobId = opts.jobId;
      this.filters = { site: opts.site || "", order: opts.order || "", lateOnly: false };
      this.onChange = opts.onChange || (() => {});
      this.onLoad = opts.onLoad || (() => {});
      this.data = null;
      this.rows = [];
      this.t0 = 0;
      this.scale = 1;
      this.scrollY = 0;
      this.tz = "UTC";
      this.drawn = 0;
      this.hover = null;
      this.frame = 0;
      this.allOrders = [];
      this.onBarClick = opts.onBarClick || null;  // (bar) => …: a click on a bar
      this.onLateClick = opts.onLateClick || null;  // (order id) => …: a late order's chip
      this.marks = null;  // bars to highlight: markBars()
      const known = (k) => COLOR_BY.some(([c]) => c === k);
      this.colorBy = known(opts.colorBy) ? opts.colorBy
        : known(savedColorBy()) ? savedColorBy() : "order";
      this.focus = null;  // the legend entry whose bars are spotlit: { key, sticky }
      this.ghosts = opts.ghosts || null;
      this.refreshMs = 1000 * (opts.refreshSeconds === undefined ? 120 : opts.refreshSeconds);
      this.loadedAt = 0;  // when the data came (the now line moves on from its `now`)
      this.painted = { now: null, frozen: null, power: {}, labels: {} };  // read-only
      this.onBarDrop = opts.onBarDrop || null;  // (bar, {group, start_min}) => …: a drop
      this.moveMode = false;  // dragging a bar moves it (else only with Alt)
      this.barDrag = null;
      this.ghost = null;  // where the dragged bar would land
      this.decorate = null;  // (ctx, bar, x, y, w, h) => …: after each bar is drawn
      this.overlay = null;  // (ctx) => …: over the chart, after the bars
      this.build();
      this.startClock();
    }

    build() {
      const h = rp.h;
      this.siteSel = h("select", { id: "site-filter", "aria-label": "site",
        onchange: () => { this.filters.site = this.siteSel.value; this.reload(); } },
      h("option", { value: "" }, "All sites"));
      this.orderList = h("datalist", { id: `orders-${this.jobId}` });
      this.orderIn = h("input", { id: "order-filter", type: "search", list: this.orderList.id,
        placeholder: "order ids, comma-separated", "aria-label": "orders",
        value: this.filters.order,
        onchange: () => { this.filters.order = this.orderIn.value.trim(); this.reload(); } });
      this.lateChk = h("input", { id: "late-only", type: "checkbox",
        onchange: () => { this.filters.lateOnly = this.lateChk.checked; this.reload(); } });
      this.tzSel = h("select", { id: "tz-select", "aria-label": "time zone",
        onchange: () => { this.tz = this.tzSel.value; this.draw(); } },
      h("option", { value: "UTC" }, "UTC"));
      this.colorSel = h("select", { id: "color-by", "aria-label": "colour by",
        onchange: () => this.setColorBy(this.colorSel.value) },
      ...COLOR_BY.map(([k, label]) => h("option", { value: k }, label)));
      this.colorSel.value = this.colorBy;
      this.legend = h("div", { class: "gantt-legend", id: "gantt-legend" });
      const btn = (label, title, fn, id) =>
        h("button", { type: "button", title, onclick: fn, id }, label);
      this.summary = h("span", { class: "gantt-summary" });
      this.lateBox = h("span", { class: "gantt-late" });
      this.msg = h("div", { class: "gantt-msg" });
      this.canvas = h("canvas", { class: "gantt-canvas", tabindex: "0",
        "aria-label": "Gantt chart" });
      this.tip = h("div", { class: "gantt-tip", role: "tooltip", hidden: true });
      this.slider = h("input", { type: "range", class: "gantt-pan", min: "0", max: "1000",
        value: "0", "aria-label": "scroll the time axis",
        oninput: () => this.panTo(Number(this.slider.value) / 1000) });
      this.stage = h("div", { class: "gantt-stage" }, this.canvas, this.tip);
      this.root.replaceChildren(h("div", { class: "gantt" },
        h("div", { class: "gantt-bar" },
          h("label", {}, "Site ", this.siteSel),
          h("label", {}, "Orders ", this.orderIn, this.orderList),
          h("label", {}, this.lateChk, " late only"),
          h("label", {}, "Time zone ", this.tzSel),
          h("label", {}, "Colour by ", this.colorSel),
          h("span", { class: "gantt-zoom" },
            btn("−", "zoom out", () => this.zoom(1 / 1.6), "zoom-out"),
            btn("+", "zoom in", () => this.zoom(1.6), "zoom-in"),
            btn("Fit", "whole horizon", () => this.fit(), "zoom-fit"),
            btn("Week", "one week", () => this.span(7 * 1440), "zoom-week"),
            btn("Day", "one day", () => this.span(1440), "zoom-day")),
          this.summary),
        this.lateBox, this.legend, this.msg, this.stage, this.slider));
      this.ctx = this.canvas.getContext("2d");
      this.bindInput();
      new ResizeObserver(() => this.resize()).observe(this.stage);
    }

    query() {
      const p = new URLSearchParams();
      if (this.filters.site) p.set("site", this.filters.site);
      let orders = this.filters.order;
      if (this.filters.lateOnly) {
        const late = this.allOrders.filter((o) => o.late).map((o) => o.id);
        const asked = orders ? orders.split(",").map((s) => s.trim()).filter(Boolean) : null;
        orders = (asked ? late.filter((id) => asked.includes(id)) : late).join(",");
        if (!orders) orders = null;
      }
      if (orders === null) return null;  // late only, and no order is late
      if (orders) p.set("order", orders);
      return p;
    }

    // fetch the data for the filters; `quiet`: a refresh of the same view (the page's
    // readiness and the filters' callback are left alone)
    async reload({ quiet = false } = {}) {
      const seq = (this.seq = (this.seq || 0) + 1);  // a later reload wins over slower ones
      if (!quiet) this.root.dataset.ready = "0";
      const p = this.query();
      if (!quiet) this.onChange(this.filters);
      let data;
      if (p === null) {
        data = { ...this.data, items: [], groups: [], orders: [], count: 0 };
      } else {
        const qs = p.toString();
        try {
          data = await rp.api(`/schedules/${encodeURIComponent(this.jobId)}/gantt` +
            (qs ? `?${qs}` : ""));
        } catch (err) {
          if (seq !== this.seq) return;
          rp.show(this.msg, rp.errorBox(err));
          this.root.dataset.ready = "error";
          this.root.dataset.error = String(err.status || "");
          // no schedule yet (the solve is running): look again in a moment
          if (err.status === 409) setTimeout(() => { if (seq === this.seq) this.reload(); }, 2000);
          return;
        }
      }
      if (seq !== this.seq) return;
      this.msg.replaceChildren();
      this.setData(data);
    }

    setData(data) {
      const first = this.data === null;
      this.data = data;
      if (!this.filters.site && !this.filters.order && !this.filters.lateOnly) {
        this.allOrders = data.orders;
      } else if (first) {
        this.allOrders = data.orders;
      }
      this.orders = new Map(data.orders.map((o) => [o.id, o]));
      this.sites = new Map(data.sites.map((s) => [s.id, s]));
      this.loadedAt = Date.now();
      if (first) this.fillControls();
      this.layout();
      this.fillLegend();
      if (first) this.fit(); else this.clamp();
      const late = this.allOrders.filter((o) => o.late);
      this.lateBox.replaceChildren(...(late.length ? [
        `${late.length} late order${late.length > 1 ? "s" : ""}: `,
        ...late.slice(0, 30).map((o) => rp.h("button", { type: "button", class: "chip late",
          title: `late by ${rp.fmtDuration(o.tardiness_min)}`,
          "data-order": o.id, onclick: () => this.lateChipClicked(o.id) }, o.id)),
        late.length > 30 ? ` … and ${late.length - 30} more` : "",
      ] : ["No late orders."]));
      const resRows = this.rows.filter((r) => r.group).length;
      this.summary.textContent = `${data.count} of ${data.total_items} bars · ${resRows} ` +
        `resources · ${data.status || ""}`;
      this.root.dataset.items = String(data.items.length);
      this.root.dataset.rows = String(resRows);
      this.root.dataset.total = String(data.total_items);
      this.draw();
      this.onLoad(data);
      this.root.dataset.ready = "1";
    }

    fillControls() {
      const h = rp.h;
      for (const s of this.data.sites) {
        this.siteSel.append(h("option", { value: s.id }, `${s.id} — ${s.name || s.id}`));
      }
      this.siteSel.value = this.filters.site;
      const zones = [...new Set(this.data.sites.map((s) => s.timezone))];
      for (const z of zones) {
        const who = this.data.sites.filter((s) => s.timezone === z).map((s) => s.id);
        this.tzSel.append(h("option", { value: z }, `${z} (${who.join(", ")})`));
      }
      this.orderList.replaceChildren(...this.allOrders.map((o) =>
        h("option", { value: o.id }, o.late ? "late" : "")));
    }

    // rows (site headers, then its resources), bars per row in start order, lanes
    layout() {
      const d = this.data;
      const byGroup = new Map(d.groups.map((g) => [g.id, []]));
      for (const it of d.items) {
        const list = byGroup.get(it.group);
        if (list) list.push(it);
      }
      const hideEmpty = Boolean(this.filters.order || this.filters.lateOnly);
      const siteOrder = d.sites.map((s) => s.id);
      for (const g of d.groups) if (!siteOrder.includes(g.site)) siteOrder.push(g.site);
      const rows = [];
      let y = 0;
      for (const siteId of siteOrder) {
        const groups = d.groups.filter((g) => g.site === siteId &&
          (!hideEmpty || byGroup.get(g.id).length));
        if (!groups.length) continue;
        rows.push({ site: siteId, y, h: SITE_H, kind: "site" });
        y += SITE_H;
        const site = this.sites.get(siteId);
        if (site && site.power) {
          rows.push({ site: siteId, y, h: POWER_H, kind: "power", power: powerSteps(site) });
          y += POWER_H;
        }
        for (const g of groups) {
          const bars = byGroup.get(g.id).sort((a, b) => a.start_min - b.start_min ||
            a.end_min - b.end_min);
          const laneEnd = [];
          let maxDur = 0;
          for (const b of bars) {
            let lane = laneEnd.findIndex((e) => e <= b.start_min);
            if (lane < 0) { lane = laneEnd.length; laneEnd.push(0); }
            laneEnd[lane] = b.end_min;
            b._lane = lane;
            maxDur = Math.max(maxDur, b.end_min - b.start_min);
          }
          const lanes = Math.max(1, laneEnd.length);
          const laneH = lanes > 1 ? Math.max(7, Math.floor(40 / lanes)) : 18;
          const hgt = PAD * 2 + lanes * laneH;
          rows.push({ group: g, site: siteId, y, h: hgt, lanes, laneH, bars,
            starts: bars.map((b) => b.start_min), maxDur });
          y += hgt;
        }
      }
      this.rows = rows;
      this.layoutGhosts();
      this.rowTops = rows.map((r) => r.y);
      this.contentH = y;
    }

    // --- view: zoom, pan, scroll ---------------------------------------------------
    get chartW() { return Math.max(10, this.w - LABEL_W); }
    get chartH() { return Math.max(10, this.h - AXIS_H); }
    get horizon() { return this.data ? this.data.horizon.minutes : 1440; }

    fit() {
      this.scale = this.chartW / this.horizon;
      this.t0 = 0;
      this.clamp();
      this.draw();
    }

    span(minutes) {
      const mid = this.t0 + this.chartW / this.scale / 2;
      this.scale = this.chartW / minutes;
      this.t0 = mid - minutes / 2;
      this.clamp();
      this.draw();
    }

    zoom(f, atX) {
      const x = atX === undefined ? this.chartW / 2 : atX;
      const tAt = this.t0 + x / this.scale;
      this.scale *= f;
      this.clamp();
      this.t0 = tAt - x / this.scale;
      this.clamp();
      this.draw();
    }

    panTo(frac) {
      const visible = this.chartW / this.scale;
      this.t0 = frac * Math.max(0, this.horizon - visible);
      this.clamp();
      this.draw();
    }

    clamp() {
      const minScale = this.chartW / (this.horizon * 1.2);
      this.scale = Math.min(8, Math.max(minScale, this.scale));
      const visible = this.chartW / this.scale;
      const slack = visible * 0.1;
      this.t0 = Math.min(Math.max(this.t0, -slack), Math.max(-slack, this.horizon - visible +
        slack));
      this.scrollY = Math.min(Math.max(0, this.scrollY), Math.max(0, this.contentH -
        this.chartH));
      const room = this.horizon - visible;
      this.slider.value = String(room > 0 ? Math.round(1000 * Math.max(0, Math.min(1,
        this.t0 / room))) : 0);
      this.slider.disabled = room <= 0;
    }

    resize() {
      const r = this.stage.getBoundingClientRect();
      const dpr = window.devicePixelRatio || 1;
      const wasFit = this.data && Math.abs(this.scale - this.chartW / this.horizon) < 1e-9;
      this.w = Math.max(200, Math.floor(r.width));
      this.h = Math.max(100, Math.floor(r.height));
      this.canvas.width = Math.floor(this.w * dpr);
      this.canvas.height = Math.floor(this.h * dpr);
      this.canvas.style.width = `${this.w}px`;
      this.canvas.style.height = `${this.h}px`;
      this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      if (!this.data) return;
      if (wasFit || !this.scale) this.fit(); else { this.clamp(); this.draw(); }
    }

    bindInput() {
      const c = this.canvas;
      c.addEventListener("wheel", (e) => {
        if (!this.data) return;
        const x = e.offsetX - LABEL_W;
        if (e.ctrlKey || e.metaKey) {
          this.zoom(Math.exp(-e.deltaY * 0.002), Math.max(0, x));
        } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
          this.t0 += (e.shiftKey ? e.deltaY : e.deltaX) / this.scale;
          this.clamp();
          this.draw();
        } else {
          const before = this.scrollY;
          this.scrollY += e.deltaY;
          this.clamp();
          if (this.scrollY === before) return;  // nothing to scroll: let the page scroll
          this.draw();
        }
        e.preventDefault();
        this.hideTip();
      }, { passive: false });
      let drag = null;
      c.addEventListener("mousedown", (e) => {
        // in move mode (or with Alt) a bar is dragged to another row or time; else panning
        const bar = (this.moveMode || e.altKey) && this.onBarDrop && e.button === 0
          ? this.barAt(e.offsetX, e.offsetY) : null;
        if (bar) {
          this.barDrag = { bar, x: e.clientX, y: e.clientY };
          c.classList.add("moving");
          this.hideTip();
          e.preventDefault();
          return;
        }
        drag = { x: e.clientX, y: e.clientY, t0: this.t0, sy: this.scrollY };
        c.classList.add("dragging");
      });
      window.addEventListener("mouseup", (e) => {
        drag = null;
        c.classList.remove("dragging");
        const bd = this.barDrag;
        if (!bd) return;
        this.barDrag = null;
        c.classList.remove("moving");
        const target = this.ghost;
        this.ghost = null;
        this.draw();
        if (target && Math.hypot(e.clientX - bd.x, e.clientY - bd.y) > 4) {
          this.onBarDrop(bd.bar, target);
        }
      });
      window.addEventListener("keydown", (e) => {  // Escape drops nothing
        if (e.key !== "Escape" || !this.barDrag) return;
        this.barDrag = null;
        this.ghost = null;
        c.classList.remove("moving");
        this.draw();
      });
      c.addEventListener("mousemove", (e) => {
        if (this.barDrag) {
          this.ghost = this.dropTarget(this.barDrag, e.clientX, e.offsetY);
          this.draw();
          return;
        }
        if (drag) {
          this.t0 = drag.t0 - (e.clientX - drag.x) / this.scale;
          this.scrollY = drag.sy - (e.clientY - drag.y);
          this.clamp();
          this.draw();
          this.hideTip();
          return;
        }
        this.hoverAt(e.offsetX, e.offsetY);
      });
      c.addEventListener("mouseleave", () => this.hideTip());
      this.bindClick();
      c.addEventListener("keydown", (e) => {
        const step = this.chartW / this.scale / 8;
        const keys = { ArrowLeft: () => { this.t0 -= step; }, ArrowRight: () => { this.t0 += step; },
          ArrowUp: () => { this.scrollY -= 40; }, ArrowDown: () => { this.scrollY += 40; },
          "+": () => this.zoom(1.6), "-": () => this.zoom(1 / 1.6) };
        if (keys[e.key]) {
          keys[e.key]();
          this.clamp();
          this.draw();
          e.preventDefault();
        }
      });
    }

    // --- hit test and tooltip ------------------------------------------------------
    barAt(px, py) {
      if (!this.data || px < LABEL_W || py < AXIS_H) return null;
      const y = py - AXIS_H + this.scrollY;
      const ri = lowerBound(this.rowTops, y + 0.0001) - 1;
      const row = this.rows[ri];
      if (!row || !row.group || y >= row.y + row.h) return null;
      const lane = Math.floor((y - row.y - PAD) / row.laneH);
      if (lane < 0 || lane >= row.lanes) return null;
      const t = this.t0 + (px - LABEL_W) / this.scale;
      const tol = 2 / this.scale;  // narrow bars: a couple of pixels either side
      let best = null;
      for (let i = lowerBound(row.starts, t - row.maxDur - tol); i < row.bars.length; i++) {
        const b = row.bars[i];
        if (b.start_min > t + tol) break;
        if (b._lane === lane && b.start_min - tol <= t && t < b.end_min + tol) {
          best = b;
          if (b.start_min <= t && t < b.end_min) break;
        }
      }
      return best;
    }

    // where a dragged bar would land: the resource row under the pointer (its own row
    // when over none) and its start shifted by the drag, on a quarter hour
    dropTarget(bd, clientX, py) {
      const b = bd.bar;
      const y = py - AXIS_H + this.scrollY;
      const ri = lowerBound(this.rowTops, y + 0.0001) - 1;
      const row = this.rows[ri];
      const group = row && row.group && py >= AXIS_H ? row.group.id : b.group;
      const start = Math.max(0, Math.round((b.start_min + (clientX - bd.x) / this.scale) / 15)
        * 15);
      return { bar: b, group, start_min: start, end_min: start + (b.end_min - b.start_min) };
    }

    // the canvas box of [a, b) minutes in a resource's row (for a drop ghost), or null
    slotBox(group, a, b) {
      const row = this.rows.find((r) => r.group && r.group.id === group);
      if (!row) return null;
      return { x: this.xOf(a), y: AXIS_H + row.y - this.scrollY + PAD,
        w: Math.max(MIN_BAR, (b - a) * this.scale), h: row.h - 2 * PAD };
    }

    hoverAt(px, py) {
      const b = this.barAt(px, py);
      if (!b) {
        if (!this.powerTipAt(px, py)) this.hideTip();
        return;
      }
      if (this.hover !== b) {
        this.hover = b;
        this.fillTip(b);
        this.draw();
      }
      this.placeTip(px, py);
    }

    placeTip(px, py) {
      const tipW = this.tip.offsetWidth, tipH = this.tip.offsetHeight;
      let left = px + 14, top = py + 14;
      if (left + tipW > this.w) left = Math.max(0, px - tipW - 10);
      if (top + tipH > this.h) top = Math.max(0, py - tipH - 10);
      this.tip.style.left = `${left}px`;
      this.tip.style.top = `${top}px`;
    }

    fillTip(b) {
      const h = rp.h;
      const o = this.orders.get(b.order) || {};
      const site = this.sites.get(b.site);
      const localTz = site ? site.timezone : "UTC";
      const s = new Date(b.start), e = new Date(b.end);
      this.tip.replaceChildren(
        h("div", { class: "tip-title" },
          h("span", { class: "swatch", style: `background:${this.colorOf(b)}` }),
          `${b.order} · unit ${b.unit} · ${b.op}`,
          o.late ? h("span", { class: "badge late" }, "LATE") : null),
        h("table", {},
          h("tr", {}, h("th", {}, "Resource"), h("td", {}, `${b.group} (${b.site})`)),
          h("tr", {}, h("th", {}, "Product"), h("td", {}, b.product)),
          h("tr", {}, h("th", {}, "Start"), h("td", {}, `${rp.fmtTime(s, localTz)} local · ` +
            `${rp.fmtTime(s, "UTC")} UTC`)),
          h("tr", {}, h("th", {}, "End"), h("td", {}, `${rp.fmtTime(e, localTz)} local · ` +
            `${rp.fmtTime(e, "UTC")} UTC`)),
          h("tr", {}, h("th", {}, "Duration"), h("td", {},
            rp.fmtDuration(b.end_min - b.start_min))),
          this.floorRow(b, localTz),
          b.fixed ? h("tr", {}, h("th", {}, "Fixed"), h("td", {},
            "the solve kept it here (a floor fact or a frozen step)")) : null,
          o.due ? h("tr", {}, h("th", {}, "Order due"), h("td", {},
            `${rp.fmtTime(new Date(o.due), localTz)} local`)) : null,
          o.delivery ? h("tr", {}, h("th", {}, "Delivery"), h("td", {},
            `${rp.fmtTime(new Date(o.delivery), localTz)} local` +
            (o.late ? ` — late by ${rp.fmtDuration(o.tardiness_min)}` : " — on time"))) : null,
          o.late ? h("tr", {}, h("th", {}, "Weighted"), h("td", {},
            `${o.weight || 1} × ${Math.round(o.tardiness_min).toLocaleString("en-US")} min = ` +
            fmtWeighted((o.weight || 1) * o.tardiness_min))) : null,
          o.customer || o.family ? h("tr", {}, h("th", {}, "Customer"), h("td", {},
            [o.customer, o.family].filter(Boolean).join(" · "))) : null));
      this.tip.dataset.item = b.id;
      this.tip.hidden = false;
    }

    // the tooltip's line of what the floor reported (null for a planned step)
    floorRow(b, tz) {
      const h = rp.h;
      const r = b.reported;
      if (!r) {
        const now = this.nowMin();
        const overdue = now !== null && b.state === "planned" && b.start_min < now;
        return h("tr", {}, h("th", {}, "State"), h("td", {},
          overdue ? "planned — not reported started, its start has passed" : "planned"));
      }
      const when = (t) => `${rp.fmtTime(new Date(t), tz)} local`;
      const text = r.completed_at
        ? `done — ran ${when(r.started_at)} to ${when(r.completed_at)} on ${r.resource}`
        : `running — started ${when(r.started_at)} on ${r.resource}`;
      return h("tr", {}, h("th", {}, "State"), h("td", {}, text));
    }

    hideTip() {
      if (this.tip.hidden && !this.hover) return;
      this.tip.hidden = true;
      delete this.tip.dataset.item;
      if (this.hover) { this.hover = null; this.draw(); }
    }

    // where bar `id` is drawn now, in page coordinates (null when out of view)
    barBox(id) {
      for (const row of this.rows) {
        if (!row.group) continue;
        const b = row.bars.find((x) => x.id === id);
        if (!b) continue;
        const x0 = LABEL_W + (b.start_min - this.t0) * this.scale;
        const w = Math.max(MIN_BAR, (b.end_min - b.start_min) * this.scale);
        const y0 = AXIS_H + row.y - this.scrollY + PAD + b._lane * row.laneH;
        const x = Math.max(x0, LABEL_W), xe = Math.min(x0 + w, this.w);
        if (xe <= x || y0 < AXIS_H || y0 + row.laneH > this.h) return null;
        const r = this.canvas.getBoundingClientRect();
        return { x: r.left + (x + xe) / 2, y: r.top + y0 + (row.laneH - 1) / 2,
          width: xe - x, height: row.laneH - 1 };
      }
      return null;
    }

    // --- drawing --------------------------------------------------------------------
    draw() {
      if (this.frame) return;
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.paint();
      });
    }

    xOf(t) { return LABEL_W + (t - this.t0) * this.scale; }

    midnights() {
      if (this.tz !== "UTC") {
        const s = this.data.sites.find((x) => x.timezone === this.tz);
        if (s) return s.midnights;
      }
      const hsMin = Date.parse(this.data.horizon.start) / 60000;
      const first = Math.ceil(hsMin / 1440) * 1440 - hsMin;
      const out = [];
      for (let m = first; m <= this.horizon; m += 1440) out.push(m);
      return out;
    }

    paint() {
      const ctx = this.ctx;
      ctx.clearRect(0, 0, this.w, this.h);
      ctx.fillStyle = COLORS.bg;
      ctx.fillRect(0, 0, this.w, this.h);
      if (!this.data) return;
      const tA = this.t0, tB = this.t0 + this.chartW / this.scale;
      const yA = this.scrollY, yB = this.scrollY + this.chartH;
      const mids = this.midnights();
      this.paintedNow = this.nowMin();  // one now for the whole frame
      let drawn = 0;

      ctx.save();
      ctx.beginPath();
      ctx.rect(0, AXIS_H, this.w, this.chartH);
      ctx.clip();
      const first = Math.max(0, lowerBound(this.rowTops, yA + 0.0001) - 1);
      for (let ri = first; ri < this.rows.length && this.rows[ri].y < yB; ri++) {
        const row = this.rows[ri];
        const top = AXIS_H + row.y - this.scrollY;
        if (row.kind === "power") {
          this.paintPowerRow(row, top, tA, tB);
          continue;
        }
        if (!row.group) {
          ctx.fillStyle = COLORS.site;
          ctx.fillRect(0, top, this.w, row.h);
          this.paintPowerWindows(row, top, tA, tB);
          continue;
        }
        ctx.fillStyle = ri % 2 ? COLORS.alt : COLORS.bg;
        ctx.fillRect(LABEL_W, top, this.chartW, row.h);
        this.paintCalendar(row, top, tA, tB);
        this.paintFrozen(row, top, tA, tB);
        this.paintGhosts(row, top, tA, tB);
        drawn += this.paintBars(row, top, tA, tB);
        ctx.strokeStyle = COLORS.grid;
        ctx.beginPath();
        ctx.moveTo(LABEL_W, top + row.h - 0.5);
        ctx.lineTo(this.w, top + row.h - 0.5);
        ctx.stroke();
      }
      // local midnights across the chart
      ctx.strokeStyle = COLORS.midnight;
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let i = lowerBound(mids, tA); i < mids.length && mids[i] <= tB; i++) {
        const x = Math.round(this.xOf(mids[i])) + 0.5;
        ctx.moveTo(x, AXIS_H);
        ctx.lineTo(x, AXIS_H + Math.min(this.chartH, this.contentH - this.scrollY));
      }
      ctx.stroke();
      this.paintNow(tA, tB);
      this.paintOrderMarks(tA, tB);
      if (this.overlay) this.overlay(ctx);
      ctx.restore();
      this.paintLabels(first, yB);
      this.paintAxis(mids, tA, tB);
      this.drawn = drawn;
      this.root.dataset.drawn = String(drawn);
    }

    // the site's power windows in its band: amber where the cap is lower, green where
    // higher, with the cap in force written in when there is room
    paintPowerWindows(row, top, tA, tB) {
      const ctx = this.ctx;
      const site = this.sites.get(row.site);
      if (!site || !site.power_windows || !site.power_windows.length) return;
      const clipX = (t) => Math.min(this.w, Math.max(LABEL_W, this.xOf(t)));
      ctx.font = "11px system-ui, sans-serif";
      ctx.textBaseline = "middle";
      for (const w of site.power_windows) {
        if (w.end_min <= tA || w.start_min >= tB) continue;
        const x0 = clipX(w.start_min), x1 = clipX(w.end_min);
        if (x1 <= x0) continue;
        ctx.fillStyle = w.lower ? COLORS.powerLow : COLORS.powerHigh;
        ctx.fillRect(x0, top + 2, x1 - x0, row.h - 4);
        const label = `${w.lower ? "≤" : "up to"} ${w.power_cap_kw} kW`;
        if (x1 - x0 > ctx.measureText(label).width + 8) {
          ctx.fillStyle = COLORS.text;
          ctx.fillText(label, x0 + 4, top + row.h / 2);
        }
      }
    }

    // page coordinates of the k-th power window's band in a site's row (null: not in view)
    powerWindowBox(siteId, k) {
      const row = this.rows.find((r) => r.kind === "site" && r.site === siteId);
      const site = this.sites.get(siteId);
      if (!row || !site || !site.power_windows || !site.power_windows[k]) return null;
      const w = site.power_windows[k];
      const x = Math.max(this.xOf(w.start_min), LABEL_W);
      const xe = Math.min(this.xOf(w.end_min), this.w);
      const y0 = AXIS_H + row.y - this.scrollY;
      if (xe <= x || y0 < AXIS_H || y0 + row.h > this.h) return null;
      const r = this.canvas.getBoundingClientRect();
      return { x: r.left + (x + xe) / 2, y: r.top + y0 + row.h / 2, width: xe - x };
    }

    paintCalendar(row, top, tA, tB) {
      const ctx = this.ctx;
      const site = this.sites.get(row.group.site);
      const clipX = (t) => Math.min(this.w, Math.max(LABEL_W, this.xOf(t)));
      if (site && site.power_windows) {
        // a faint tint of the site's power windows across its rows
        for (const w of site.power_windows) {
          if (w.end_min <= tA || w.start_min >= tB) continue;
          const x0 = clipX(w.start_min), x1 = clipX(w.end_min);
          ctx.fillStyle = w.lower ? COLORS.powerLowTint : COLORS.powerHighTint;
          if (x1 > x0) ctx.fillRect(x0, top, x1 - x0, row.h - 1);
        }
      }
      if (site && row.group.calendar !== "24x7") {
        // off-shift: the gaps between open windows
        ctx.fillStyle = COLORS.offShift;
        const open = site.open;
        let cur = tA;
        for (let i = firstEndingAfter(open, tA); cur < tB; i++) {
          const gapEnd = i < open.length ? Math.min(open[i][0], tB) : tB;
          if (gapEnd > cur) {
            const x0 = clipX(cur), x1 = clipX(gapEnd);
            if (x1 > x0) ctx.fillRect(x0, top, x1 - x0, row.h - 1);
          }
          if (i >= open.length) break;
          cur = Math.max(cur, open[i][1]);
        }
        // shift starts: thin ticks when they are far enough apart to read
        if (site.shift_starts.length > 1 && this.scale * 240 > 8) {
          ctx.strokeStyle = "rgba(91,141,239,0.35)";
          ctx.beginPath();
          const ss = site.shift_starts;
          for (let j = lowerBound(ss, tA); j < ss.length && ss[j] <= tB; j++) {
            const x = Math.round(this.xOf(ss[j])) + 0.5;
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + row.h - 1);
          }
          ctx.stroke();
        }
      }
      if (row.group.downtime.length) {
        ctx.fillStyle = COLORS.downtime;
        for (const [a, b] of row.group.downtime) {
          if (b <= tA || a >= tB) continue;
          const x0 = clipX(a), x1 = clipX(b);
          ctx.fillRect(x0, top, x1 - x0, row.h - 1);
          ctx.save();
          ctx.beginPath();
          ctx.rect(x0, top, x1 - x0, row.h - 1);
          ctx.clip();
          ctx.strokeStyle = "rgba(0,0,0,0.18)";
          ctx.beginPath();
          for (let x = x0 - row.h; x < x1; x += 6) {
            ctx.moveTo(x, top + row.h);
            ctx.lineTo(x + row.h, top);
          }
          ctx.stroke();
          ctx.restore();
        }
      }
    }

    paintBars(row, top, tA, tB) {
      const ctx = this.ctx;
      let n = 0;
      const labels = this.scale * 60 > 1.2;
      ctx.font = "11px system-ui, sans-serif";
      ctx.textBaseline = "middle";
      for (let i = lowerBound(row.starts, tA - row.maxDur); i < row.bars.length; i++) {
        const b = row.bars[i];
        if (b.start_min >= tB) break;
        if (b.end_min <= tA) continue;
        let x = this.xOf(b.start_min);
        let w = Math.max(MIN_BAR, (b.end_min - b.start_min) * this.scale);
        if (x < LABEL_W) { w -= LABEL_W - x; x = LABEL_W; }
        if (w <= 0) continue;
        const y = top + PAD + b._lane * row.laneH;
        const hgt = row.laneH - 1;
        const o = this.orders.get(b.order);
        const color = this.colorOf(b);
        ctx.fillStyle = color;
        ctx.fillRect(x, y, w, hgt);
        this.paintState(b, x, y, w, hgt);
        if (this.marks) this.paintMark(b, x, y, w, hgt);
        else if (this.focus && this.keyOf(b) !== this.focus.key) {
          ctx.fillStyle = COLORS.focusFade;
          ctx.fillRect(x, y, w, hgt);
        }
        if (o && o.late) {
          ctx.strokeStyle = COLORS.late;
          ctx.lineWidth = w > 4 ? 2 : 1;
          ctx.strokeRect(x + 0.5, y + 0.5, Math.max(0, w - 1), hgt - 1);
          ctx.lineWidth = 1;
        }
        if (this.decorate) this.decorate(ctx, b, x, y, w, hgt);
        if (this.hover && this.hover.order === b.order) {
          ctx.strokeStyle = "#000";
          ctx.strokeRect(x + 0.5, y + 0.5, Math.max(0, w - 1), hgt - 1);
        }
        if (labels && w > 46 && hgt >= 12) {
          ctx.save();
          ctx.beginPath();
          ctx.rect(x + 2, y, w - 4, hgt);
          ctx.clip();
          ctx.fillStyle = b.state === "done" ? COLORS.text : inkOn(color);
          ctx.fillText(`${b.order}/${b.unit}`, x + 3, y + hgt / 2 + 0.5);
          ctx.restore();
        }
        n++;
      }
      return n;
    }

    // --- the clock: refreshes and the moving now line --------------------------------

    startClock() {
      const alive = () => this.canvas.isConnected || !this.data;
      const tick = setInterval(() => {
        if (!alive()) { clearInterval(tick); return; }
        if (this.data && !document.hidden) this.draw();  // the now line moves on
      }, 30000);
      if (!this.refreshMs) return;
      const refresh = setInterval(() => {
        if (!alive()) { clearInterval(refresh); return; }
        // not while the page is hidden, a bar or the view is being dragged, or loading
        if (document.hidden || this.canvas.classList.contains("dragging") ||
          this.root.dataset.ready !== "1") return;
        this.reload({ quiet: true });
      }, this.refreshMs);
    }

    // now in chart minutes: the service's clock at the last load, moved on since
    nowMin() {
      if (!this.data || this.data.now_min === undefined) return null;
      return this.data.now_min + (Date.now() - this.loadedAt) / MINUTE;
    }

    // the next reschedule's frozen window [a, b) in chart minutes, from now
    frozenSpan() {
      const f = this.data && this.data.frozen;
      const now = this.nowMin();
      if (!f || now === null || f.end_min <= f.start_min) return null;
      return [now, now + (f.end_min - f.start_min)];
    }

    // --- colours: by order, product, generation, customer or slack -----------------

    setColorBy(k) {
      this.colorBy = k;
      try { localStorage.setItem(COLOR_KEY, k); } catch (e) { /* private mode: this page only */ }
      this.colorSel.value = k;
      this.focus = null;
      this.fillLegend();
      this.draw();
    }

    // the legend key a bar belongs to in the current colouring
    keyOf(b) {
      const o = this.orders.get(b.order) || {};
      switch (this.colorBy) {
        case "product": return b.product || "";
        case "family": return o.family || "";
        case "customer": return o.customer || "";
        case "slack": {
          if (o.slack_min === undefined || o.slack_min === null) return "";
          return SLACK_BANDS.find((band) => band.test(o.slack_min)).key;
        }
        default: return b.order;
      }
    }

    // the colour of a legend key (categories in a stable order: their sorted names)
    colorOfKey(key) {
      if (this.colorBy === "order") {
        const o = this.orders.get(key);
        return o && o.index !== undefined ? indexColor(o.index) : orderColor(key);
      }
      if (this.colorBy === "slack") {
        const band = SLACK_BANDS.find((x) => x.key === key);
        return band ? band.color : NONE_COLOR;
      }
      if (!key) return NONE_COLOR;
      const k = this.categories().indexOf(key);
      return k < 0 ? NONE_COLOR : PALETTE[k % PALETTE.length];
    }

    // a bar's colour (memoised per key while the colouring and the data stay the same)
    colorOf(b) {
      const memo = this.colorMemo;
      if (!memo || memo.by !== this.colorBy || memo.data !== this.data) {
        this.colorMemo = { by: this.colorBy, data: this.data, map: new Map() };
      }
      const key = this.keyOf(b);
      const map = this.colorMemo.map;
      if (!map.has(key)) map.set(key, this.colorOfKey(key));
      return map.get(key);
    }

    // the colour an order's bars have now (the explanation panel's swatch)
    orderSwatch(id) {
      const b = (this.data && this.data.items.find((x) => x.order === id)) ||
        { order: id, product: (this.orders && this.orders.get(id) || {}).product };
      return this.orders ? this.colorOf(b) : orderColor(id);
    }

    // every category of the current colouring in the whole schedule, sorted
    categories() {
      const by = this.colorBy;
      if (this.catCache && this.catCache.by === by && this.catCache.of === this.allOrders) {
        return this.catCache.list;
      }
      const field = by === "family" ? "family" : by === "customer" ? "customer" : "product";
      const list = [...new Set(this.allOrders.map((o) => o[field]).filter(Boolean))].sort();
      this.catCache = { by, of: this.allOrders, list };
      return list;
    }

    // the legend's entries: [key, label, colour, bars] for what the chart shows
    legendEntries() {
      const counts = new Map();
      for (const it of this.data.items) {
        const k = this.keyOf(it);
        counts.set(k, (counts.get(k) || 0) + 1);
      }
      let keys;
      if (this.colorBy === "slack") keys = SLACK_BANDS.map((b) => b.key);
      else if (this.colorBy === "order") {
        keys = [...counts.keys()].sort((a, b) => ((this.orders.get(a) || {}).index || 0) -
          ((this.orders.get(b) || {}).index || 0));
      } else keys = [...this.categories(), ""];
      const label = (k) => {
        if (this.colorBy === "slack") return SLACK_BANDS.find((b) => b.key === k).label;
        return k || `no ${this.colorBy === "family" ? "generation" : this.colorBy}`;
      };
      return keys.filter((k) => counts.get(k)).map((k) =>
        [k, label(k), this.colorOfKey(k), counts.get(k)]);
    }

    fillLegend() {
      const h = rp.h;
      if (!this.data) return;
      const entries = this.legendEntries();
      const chip = ([key, label, color, n]) => h("button", { type: "button",
        class: "legend-chip" + (this.focus && this.focus.sticky && this.focus.key === key
          ? " on" : ""),
        "data-key": key, title: `${label}: ${n} bar${n === 1 ? "" : "s"} (click to spotlight)`,
        onmouseenter: () => this.setFocus(key, false),
        onmouseleave: () => this.setFocus(null, false),
        onclick: () => this.setFocus(key, true) },
      h("span", { class: "swatch", style: `background:${color}` }), label);
      const key = (cls, label, title) => h("span", { class: "legend-key", title },
        h("span", { class: `key ${cls}` }), label);
      this.legend.replaceChildren(
        h("div", { class: "legend-entries" }, entries.map(chip)),
        h("div", { class: "legend-keys" },
          key("key-running", "running", "reported started on the floor, not completed"),
          key("key-done", "done", "reported completed on the floor"),
          key("key-fixed", "fixed", "the solve could not move it (a floor fact, a frozen step)"),
          key("key-behind", "start passed", "planned to start before now, not reported started"),
          this.data.now_min !== undefined ? key("key-now", "now", "the service's clock") : null,
          this.data.frozen ? key("key-frozen", `frozen ${fmtHours(this.data.frozen.hours)}`,
            "the next reschedule keeps the published steps that start in this window") : null,
          this.ghostCount ? key("key-ghost", "other plan", "the compared plan's bars") : null,
          this.data.sites.some((x) => x.power) ? key("key-power", "kW / cap",
            "power rows: running kW (amber at the cap) and the cap in force") : null));
      this.legend.dataset.by = this.colorBy;
      this.legend.dataset.entries = String(entries.length);
    }

    // spotlight one legend key's bars (hover: while over it; click: until clicked again)
    setFocus(key, sticky) {
      // the kept (clicked) spotlight, under a passing hover one
      const base = this.focus && !this.focus.sticky ? this.focus.kept || null : this.focus;
      if (sticky) this.focus = base && base.key === key ? null : { key, sticky: true };
      else this.focus = key === null ? base : { key, sticky: false, kept: base };
      for (const el of this.legend.querySelectorAll(".legend-chip")) {
        el.classList.toggle("on", Boolean(this.focus && this.focus.sticky &&
          el.dataset.key === this.focus.key));
      }
      this.root.dataset.focus = this.focus ? this.focus.key : "";
      this.draw();
    }

    // --- ghosts: another plan's bars under this one's ------------------------------

    setGhosts(items) {
      this.ghosts = items && items.length ? items : null;
      if (this.data) {
        this.layoutGhosts();
        this.fillLegend();
        this.draw();
      }
    }

    layoutGhosts() {
      this.ghostCount = 0;
      this.root.dataset.ghosts = "0";
      for (const row of this.rows) if (row.group) row.ghosts = null;
      if (!this.ghosts || !this.data) return;
      const hs = Date.parse(this.data.horizon.start);
      const byGroup = new Map();
      for (const g of this.ghosts) {
        const a = g.start ? (Date.parse(g.start) - hs) / MINUTE : g.start_min;
        const b = g.end ? (Date.parse(g.end) - hs) / MINUTE : g.end_min;
        if (!Number.isFinite(a) || !Number.isFinite(b) || b <= a) continue;
        if (!byGroup.has(g.group)) byGroup.set(g.group, []);
        byGroup.get(g.group).push({ a, b, item: g });
      }
      for (const row of this.rows) {
        const list = row.group && byGroup.get(row.group.id);
        if (!list) continue;
        list.sort((p, q) => p.a - q.a);
        const laneEnd = [];
        for (const gh of list) {
          let lane = laneEnd.findIndex((e) => e <= gh.a);
          if (lane < 0) { lane = laneEnd.length; laneEnd.push(0); }
          laneEnd[lane] = gh.b;
          gh.lane = Math.min(lane, row.lanes - 1);
        }
        row.ghosts = list;
        this.ghostCount += list.length;
      }
      this.root.dataset.ghosts = String(this.ghostCount);
    }

    paintGhosts(row, top, tA, tB) {
      if (!row.ghosts) return;
      const ctx = this.ctx;
      ctx.save();
      ctx.setLineDash([3, 2]);
      ctx.lineWidth = 1;
      for (const gh of row.ghosts) {
        if (gh.a >= tB) break;
        if (gh.b <= tA) continue;
        const x = Math.max(LABEL_W, this.xOf(gh.a));
        const w = Math.max(MIN_BAR, this.xOf(gh.b) - x);
        const y = top + PAD + gh.lane * row.laneH;
        ctx.fillStyle = COLORS.ghostFill;
        ctx.fillRect(x, y, w, row.laneH - 1);
        ctx.strokeStyle = COLORS.ghostEdge;
        ctx.strokeRect(x + 0.5, y + 0.5, Math.max(0, w - 1), row.laneH - 2);
      }
      ctx.restore();
    }

    // --- the floor's truth: states, now, the frozen window --------------------------

    // running: striped; done: faded with its own colour's edge; fixed: a dark band on top
    paintState(b, x, y, w, hgt) {
      const ctx = this.ctx;
      if (b.state === "done") {
        ctx.fillStyle = COLORS.doneFade;
        ctx.fillRect(x, y, w, hgt);
        if (w > 3 && hgt > 4) {
          ctx.strokeStyle = this.colorOf(b);
          ctx.lineWidth = 1;
          ctx.strokeRect(x + 0.5, y + 0.5, w - 1, hgt - 1);
        }
      } else if (b.state === "running" && w > 2) {
        ctx.save();
        ctx.beginPath();
        ctx.rect(x, y, w, hgt);
        ctx.clip();
        ctx.strokeStyle = COLORS.running;
        ctx.lineWidth = 2;
        ctx.beginPath();
        for (let xx = x - hgt; xx < x + w; xx += 6) {
          ctx.moveTo(xx, y + hgt);
          ctx.lineTo(xx + hgt, y);
        }
        ctx.stroke();
        ctx.restore();
      }
      if (b.fixed) {
        ctx.fillStyle = COLORS.fixed;
        ctx.fillRect(x, y, w, Math.min(3, Math.max(1, Math.floor(hgt / 4))));
      }
      // planned to start before now and not reported started: a corner flag
      const now = this.paintedNow;
      if (b.state === "planned" && now !== null && b.start_min < now && w > 5 && hgt > 6 &&
        this.xOf(b.start_min) >= LABEL_W) {  // at the bar's own start, when in view
        const k = Math.min(8, hgt - 2, w - 2);
        ctx.fillStyle = COLORS.behind;
        ctx.beginPath();
        ctx.moveTo(x, y + hgt);
        ctx.lineTo(x, y + hgt - k);
        ctx.lineTo(x + k, y + hgt);
        ctx.fill();
      }
    }

    paintFrozen(row, top, tA, tB) {
      const span = this.frozenSpan();
      if (!span || span[1] <= tA || span[0] >= tB) return;
      const x0 = Math.max(LABEL_W, this.xOf(span[0]));
      const x1 = Math.min(this.w, this.xOf(span[1]));
      if (x1 <= x0) return;
      this.ctx.fillStyle = COLORS.frozenTint;
      this.ctx.fillRect(x0, top, x1 - x0, row.h - 1);
    }

    // the now line and the frozen window's far edge across the rows
    paintNow(tA, tB) {
      const ctx = this.ctx;
      const now = this.nowMin();
      const span = this.frozenSpan();
      const bottom = AXIS_H + Math.min(this.chartH, this.contentH - this.scrollY);
      this.painted.now = null;
      this.painted.frozen = null;
      if (span && span[1] > tA && span[0] < tB) {
        this.painted.frozen = [Math.max(LABEL_W, this.xOf(span[0])),
          Math.min(this.w, this.xOf(span[1]))];
        if (span[1] <= tB) {
          const x = Math.round(this.xOf(span[1])) + 0.5;
          ctx.save();
          ctx.strokeStyle = COLORS.frozenEdge;
          ctx.setLineDash([5, 4]);
          ctx.beginPath();
          ctx.moveTo(x, AXIS_H);
          ctx.lineTo(x, bottom);
          ctx.stroke();
          ctx.restore();
        }
      }
      if (now === null || now < tA || now > tB) return;
      const x = Math.round(this.xOf(now));
      if (x < LABEL_W) return;
      ctx.fillStyle = COLORS.now;
      ctx.fillRect(x - 1, AXIS_H, 2, bottom - AXIS_H);
      this.painted.now = x;
    }

    // in the axis: the frozen window as a strip along its top, now as a tag
    paintClockAxis(tA, tB) {
      const ctx = this.ctx;
      const span = this.frozenSpan();
      if (span && span[1] > tA && span[0] < tB) {
        const x0 = Math.max(LABEL_W, this.xOf(span[0])), x1 = Math.min(this.w, this.xOf(span[1]));
        ctx.fillStyle = COLORS.frozenStrip;
        ctx.fillRect(x0, 0, x1 - x0, 4);
        const label = `frozen ${fmtHours(this.data.frozen.hours)}`;
        ctx.font = "10px system-ui, sans-serif";
        if (x1 - x0 > ctx.measureText(label).width + 40) {
          ctx.fillStyle = COLORS.frozenEdge;
          ctx.textBaseline = "middle";
          ctx.fillText(label, x1 - ctx.measureText(label).width - 4, 21);
        }
      }
      const now = this.nowMin();
      if (now === null || now < tA || now > tB) return;
      const x = Math.round(this.xOf(now));
      ctx.fillStyle = COLORS.now;
      ctx.fillRect(x - 1, 4, 2, AXIS_H - 4);
      ctx.font = "bold 10px system-ui, sans-serif";
      const tw = ctx.measureText("now").width;
      // the tag beside the line where it would leave the chart
      const cx = Math.min(this.w - tw / 2 - 5, Math.max(LABEL_W + tw / 2 + 5, x));
      ctx.beginPath();
      ctx.roundRect(cx - tw / 2 - 4, 14, tw + 8, 14, 3);
      ctx.fill();
      ctx.fillStyle = "#ffffff";
      ctx.textBaseline = "middle";
      ctx.fillText("now", cx - tw / 2, 21.5);
    }

    // page coordinates of the now line (null: not in view)
    nowBox() {
      if (this.painted.now === null) return null;
      const r = this.canvas.getBoundingClientRect();
      return { x: r.left + this.painted.now, top: r.top + AXIS_H,
        bottom: r.top + AXIS_H + Math.min(this.chartH, this.contentH - this.scrollY) };
    }

    // --- power rows and utilisation -------------------------------------------------

    // a site's running kW (blue, amber where it meets the cap) and the cap in force (red)
    paintPowerRow(row, top, tA, tB) {
      const ctx = this.ctx;
      const p = row.power;
      ctx.fillStyle = COLORS.powerBg;
      ctx.fillRect(LABEL_W, top, this.chartW, row.h);
      const base = top + row.h - 3, span = row.h - 8;
      const yOf = (kw) => base - (kw / p.max) * span;
      const clipX = (t) => Math.min(this.w, Math.max(LABEL_W, this.xOf(t)));
      const L = p.load;
      for (let i = Math.max(0, lowerBound(L.t, tA) - 1); i < L.t.length && L.t[i] < tB; i++) {
        const kw = L.v[i];
        if (kw <= 0) continue;
        const a = L.t[i], b = i + 1 < L.t.length ? L.t[i + 1] : this.horizon;
        const x0 = clipX(a), x1 = clipX(b);
        if (x1 <= x0) continue;
        const cap = stepAt(p.cap, a);
        ctx.fillStyle = cap !== null && kw >= cap - 0.5 ? COLORS.powerAtCap : COLORS.powerLoad;
        const y = yOf(kw);
        ctx.fillRect(x0, y, Math.max(1, x1 - x0), base - y);
      }
      // the cap in force, as a step line
      const C = p.cap;
      ctx.strokeStyle = COLORS.powerCap;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      for (let i = 0; i < C.t.length; i++) {
        const a = C.t[i], b = i + 1 < C.t.length ? C.t[i + 1] : this.horizon;
        if (C.v[i] === null || b <= tA || a >= tB) continue;
        const y = Math.round(yOf(C.v[i])) + 0.5;
        ctx.moveTo(clipX(a), y);
        ctx.lineTo(clipX(b), y);
        if (i + 1 < C.t.length && C.v[i + 1] !== null && b < tB) ctx.lineTo(clipX(b),
          Math.round(yOf(C.v[i + 1])) + 0.5);
      }
      ctx.stroke();
      ctx.lineWidth = 1;
      ctx.strokeStyle = COLORS.grid;
      ctx.beginPath();
      ctx.moveTo(LABEL_W, top + row.h - 0.5);
      ctx.lineTo(this.w, top + row.h - 0.5);
      ctx.stroke();
      this.painted.power[row.site] = { top, h: row.h, max: p.max };
    }

    paintPowerLabel(row, top) {
      const ctx = this.ctx;
      const site = this.sites.get(row.site);
      const pw = site.power;
      const caps = row.power.cap.v.filter((v) => v !== null);
      const capText = caps.length ? ` of ${fmtKw(Math.max(...caps))}` : "";
      ctx.fillStyle = COLORS.powerBg;
      ctx.fillRect(0, top, LABEL_W, row.h);
      ctx.fillStyle = COLORS.text;
      ctx.font = "12px system-ui, sans-serif";
      ctx.fillText(`${row.site} power`, 12, top + 12);
      ctx.font = "10px system-ui, sans-serif";
      const atCap = pw.at_cap_min ? `${fmtHours(Math.round(pw.at_cap_min / 6) / 10)} at cap` : "";
      if (atCap) {
        ctx.fillStyle = COLORS.powerAtCap;
        ctx.fillText(atCap, LABEL_W - 8 - ctx.measureText(atCap).width, top + 12);
      }
      ctx.fillStyle = COLORS.muted;
      const text = `peak ${fmtKw(pw.peak_kw)}${capText} kW`;
      ctx.fillText(text, 12, top + 28);
      this.painted.labels[`power:${row.site}`] = atCap ? `${text} · ${atCap}` : text;
      ctx.strokeStyle = COLORS.grid;
      ctx.beginPath();
      ctx.moveTo(0, top + row.h - 0.5);
      ctx.lineTo(LABEL_W, top + row.h - 0.5);
      ctx.stroke();
    }

    // page coordinates of the power row's load and cap at minute t (null: not in view)
    powerPoint(siteId, t) {
      const row = this.rows.find((r) => r.kind === "power" && r.site === siteId);
      const drawn = this.painted.power[siteId];
      if (!row || !drawn) return null;
      const base = drawn.top + row.h - 3, span = row.h - 8;
      const kw = stepAt(row.power.load, t), cap = stepAt(row.power.cap, t);
      const r = this.canvas.getBoundingClientRect();
      return { x: r.left + this.xOf(t), kw, cap, atCap: cap !== null && kw >= cap - 0.5,
        yLoad: r.top + base - (kw / drawn.max) * span,
        yCap: cap === null ? null : r.top + base - (cap / drawn.max) * span,
        yCapLine: cap === null ? null : r.top + Math.round(base - (cap / drawn.max) * span) + 0.5,
        yBase: r.top + base };
    }

    // the tooltip over a power row: the kW running and the cap in force at that minute
    powerTipAt(px, py) {
      if (!this.data || px < LABEL_W || py < AXIS_H) return false;
      const y = py - AXIS_H + this.scrollY;
      const row = this.rows[lowerBound(this.rowTops, y + 0.0001) - 1];
      if (!row || row.kind !== "power" || y >= row.y + row.h) return false;
      const h = rp.h;
      const t = this.t0 + (px - LABEL_W) / this.scale;
      const kw = stepAt(row.power.load, t), cap = stepAt(row.power.cap, t);
      const site = this.sites.get(row.site);
      const at = new Date(Date.parse(this.data.horizon.start) + t * MINUTE);
      this.tip.replaceChildren(h("div", { class: "tip-title" }, `${row.site} power`),
        h("table", {},
          h("tr", {}, h("th", {}, "At"), h("td", {}, `${rp.fmtTime(at, site.timezone)} local`)),
          h("tr", {}, h("th", {}, "Running"), h("td", {}, `${fmtKw(kw)} kW`)),
          h("tr", {}, h("th", {}, "Cap in force"), h("td", {}, cap === null ? "none"
            : `${fmtKw(cap)} kW` + (cap !== site.power_cap_kw ? " (power window)" : ""))),
          cap !== null ? h("tr", {}, h("th", {}, "Headroom"),
            h("td", {}, `${fmtKw(Math.max(0, cap - kw))} kW`)) : null));
      this.tip.dataset.item = `power:${row.site}`;
      this.tip.hidden = false;
      if (this.hover) { this.hover = null; this.draw(); }
      this.placeTip(px, py);
      return true;
    }

    // the resource's utilisation (the schedule's KPI) at the right of its label
    paintUtilisation(row, top) {
      const u = row.group.utilisation;
      if (u === undefined || u === null) return;
      const ctx = this.ctx;
      const text = `${Math.round(u * 100)}%`;
      ctx.font = "11px system-ui, sans-serif";
      ctx.fillStyle = u >= 0.85 ? COLORS.late : COLORS.muted;
      ctx.fillText(text, LABEL_W - 8 - ctx.measureText(text).width, top + Math.min(row.h / 2, 12));
      this.painted.labels[row.group.id] = `${row.group.id} ${text}`;
    }

    // --- highlighted bars (an explanation's chain and what held it) -----------------

    // marks: { roles: Map(item id -> "chain" | "order" | "held") } or null to clear
    markBars(marks) {
      this.marks = marks && marks.roles && marks.roles.size ? marks : null;
      this.root.dataset.marked = this.marks ? String(this.marks.roles.size) : "0";
      this.draw();
    }

    // one bar while marks are shown: the marked ones outlined by role, the others faded
    paintMark(b, x, y, w, hgt) {
      const ctx = this.ctx;
      const role = this.marks.roles.get(b.id);
      if (!role) {
        ctx.fillStyle = "rgba(255,255,255,0.72)";
        ctx.fillRect(x, y, w, hgt);
        return;
      }
      const color = { chain: "#111827", order: "#6b7280", held: "#d97706" }[role] || "#111827";
      ctx.save();
      ctx.strokeStyle = color;
      ctx.lineWidth = role === "order" ? 1.5 : 3;
      ctx.strokeRect(x + 1, y + 1, Math.max(0, w - 2), Math.max(0, hgt - 2));
      if (role === "held") {  // hatched, so it reads without colour too
        ctx.beginPath();
        ctx.rect(x, y, w, hgt);
        ctx.clip();
        ctx.strokeStyle = "rgba(217,119,6,0.55)";
        ctx.lineWidth = 1;
        ctx.beginPath();
        for (let xx = x - hgt; xx < x + w; xx += 5) {
          ctx.moveTo(xx, y + hgt);
          ctx.lineTo(xx + hgt, y);
        }
        ctx.stroke();
      }
      ctx.restore();
    }

    // show [a, b) (minutes) with a little room either side
    showSpan(a, b) {
      const pad = Math.max(120, (b - a) * 0.08);
      this.scale = this.chartW / Math.max(60, b - a + 2 * pad);
      this.t0 = a - pad;
      this.clamp();
      this.draw();
    }

    // a click (not a drag) on a bar goes to onBarClick
    bindClick() {
      let down = null;
      this.canvas.addEventListener("mousedown", (e) => { down = { x: e.clientX, y: e.clientY }; });
      this.canvas.addEventListener("click", (e) => {
        const moved = down && Math.hypot(e.clientX - down.x, e.clientY - down.y) > 4;
        down = null;
        if (moved || !this.onBarClick) return;
        const b = this.barAt(e.offsetX, e.offsetY);
        if (b) this.onBarClick(b);
      });
    }

    lateChipClicked(id) {
      if (this.onLateClick) { this.onLateClick(id); return; }
      this.orderIn.value = id;
      this.filters.order = id;
      this.reload();
    }

    // due (red) and delivery (green) lines of the orders picked in the filter
    paintOrderMarks(tA, tB) {
      if (!this.filters.order) return;
      const ctx = this.ctx;
      const wanted = new Set(this.filters.order.split(",").map((s) => s.trim()));
      ctx.setLineDash([4, 3]);
      for (const o of this.data.orders) {
        if (!wanted.has(o.id)) continue;
        for (const [t, color] of [[o.due_min, COLORS.due], [o.delivery_min, COLORS.delivery]]) {
          if (t === undefined || t === null || t < tA || t > tB) continue;
          const x = Math.round(this.xOf(t)) + 0.5;
          ctx.strokeStyle = color;
          ctx.beginPath();
          ctx.moveTo(x, AXIS_H);
          ctx.lineTo(x, this.h);
          ctx.stroke();
        }
      }
      ctx.setLineDash([]);
    }

    paintLabels(first, yB) {
      const ctx = this.ctx;
      ctx.save();
      ctx.beginPath();
      ctx.rect(0, AXIS_H, LABEL_W, this.chartH);
      ctx.clip();
      ctx.fillStyle = "#fbfbfc";
      ctx.fillRect(0, AXIS_H, LABEL_W, this.chartH);
      ctx.textBaseline = "middle";
      for (let ri = first; ri < this.rows.length && this.rows[ri].y < yB; ri++) {
        const row = this.rows[ri];
        const top = AXIS_H + row.y - this.scrollY;
        if (row.kind === "power") {
          this.paintPowerLabel(row, top);
          continue;
        }
        if (!row.group) {
          const s = this.sites.get(row.site);
          ctx.fillStyle = COLORS.site;
          ctx.fillRect(0, top, LABEL_W, row.h);
          ctx.fillStyle = COLORS.text;
          ctx.font = "bold 12px system-ui, sans-serif";
          ctx.fillText(s ? `${s.id} · ${s.name || ""}` : row.site, 6, top + row.h / 2);
          continue;
        }
        ctx.fillStyle = COLORS.text;
        ctx.font = "12px system-ui, sans-serif";
        ctx.fillText(row.group.id, 12, top + Math.min(row.h / 2, 12));
        this.paintUtilisation(row, top);
        if (row.h >= 28) {
          ctx.fillStyle = COLORS.muted;
          ctx.font = "10px system-ui, sans-serif";
          const cal = row.group.calendar === "24x7" ? " · 24x7" : "";
          ctx.fillText(`${row.group.kind} ×${row.group.capacity}${cal}`, 12, top + 24);
        }
        ctx.strokeStyle = COLORS.grid;
        ctx.beginPath();
        ctx.moveTo(0, top + row.h - 0.5);
        ctx.lineTo(LABEL_W, top + row.h - 0.5);
        ctx.stroke();
      }
      ctx.restore();
      ctx.strokeStyle = COLORS.midnight;
      ctx.beginPath();
      ctx.moveTo(LABEL_W - 0.5, 0);
      ctx.lineTo(LABEL_W - 0.5, this.h);
      ctx.stroke();
    }

    paintAxis(mids, tA, tB) {
      const ctx = this.ctx;
      ctx.fillStyle = "#f3f4f6";
      ctx.fillRect(0, 0, this.w, AXIS_H);
      ctx.fillStyle = COLORS.muted;
      ctx.font = "11px system-ui, sans-serif";
      ctx.textBaseline = "middle";
      ctx.fillText(`times: ${this.tz}`, 6, 14);
      ctx.fillText("shift starts ▾", 6, 34);
      ctx.save();
      ctx.beginPath();
      ctx.rect(LABEL_W, 0, this.chartW, AXIS_H);
      ctx.clip();
      const hs = Date.parse(this.data.horizon.start);
      const dayFmt = rp.formatter(this.tz, { weekday: "short", day: "2-digit", month: "short" });
      const dayPx = 1440 * this.scale;
      // day labels (between consecutive midnights)
      const edges = [tA - 1440, ...mids.filter((m) => m > tA - 1440 && m < tB + 1440), tB + 1440];
      ctx.font = "bold 11px system-ui, sans-serif";
      ctx.fillStyle = COLORS.text;
      for (let i = 0; i + 1 < edges.length; i++) {
        const a = Math.max(edges[i], tA), b = Math.min(edges[i + 1], tB);
        if (b <= a) continue;
        const label = dayFmt.format(new Date(hs + (a + Math.min(60, (b - a) / 2)) * 60000));
        const x0 = this.xOf(a), x1 = this.xOf(b);
        const text = dayPx < 60 ? label.split(" ")[1] || label : label;
        const tw = ctx.measureText(text).width;
        if (x1 - x0 > tw + 4) ctx.fillText(text, Math.max(x0 + 3, LABEL_W + 3), 12);
      }
      ctx.strokeStyle = COLORS.midnight;
      ctx.beginPath();
      for (let i = lowerBound(mids, tA); i < mids.length && mids[i] <= tB; i++) {
        const x = Math.round(this.xOf(mids[i])) + 0.5;
        ctx.moveTo(x, 0);
        ctx.lineTo(x, AXIS_H);
      }
      ctx.stroke();
      // hour ticks, counted from local midnight
      const step = [1, 2, 3, 6, 12].find((s) => s * 60 * this.scale >= 34);
      if (step) {
        ctx.font = "10px system-ui, sans-serif";
        ctx.fillStyle = COLORS.muted;
        ctx.strokeStyle = COLORS.grid;
        ctx.beginPath();
        const segs = [mids.length ? mids[0] - 1440 : Math.floor(tA / 1440) * 1440, ...mids];
        for (let i = 0; i < segs.length; i++) {
          const m0 = segs[i], m1 = i + 1 < segs.length ? segs[i + 1] : m0 + 1440;
          if (m1 < tA || m0 > tB) continue;
          for (let hh = step; m0 + hh * 60 < m1 - 1; hh += step) {
            const t = m0 + hh * 60;
            if (t < tA || t > tB) continue;
            const x = Math.round(this.xOf(t)) + 0.5;
            ctx.moveTo(x, 24);
            ctx.lineTo(x, AXIS_H);
            ctx.fillText(String(hh).padStart(2, "0"), x + 2, 30);
          }
        }
        ctx.stroke();
      }
      // shift starts of the sites in this time zone (all sites for UTC)
      const sites = this.data.sites.filter((s) => this.tz === "UTC" || s.timezone === this.tz);
      ctx.fillStyle = COLORS.shift;
      for (const s of sites) {
        const ss = s.shift_starts;
        for (let j = lowerBound(ss, tA); j < ss.length && ss[j] <= tB; j++) {
          const x = this.xOf(ss[j]);
          ctx.beginPath();
          ctx.moveTo(x - 3, AXIS_H - 6);
          ctx.lineTo(x + 3, AXIS_H - 6);
          ctx.lineTo(x, AXIS_H - 1);
          ctx.fill();
        }
      }
      this.paintClockAxis(tA, tB);
      ctx.restore();
      ctx.strokeStyle = COLORS.midnight;
      ctx.beginPath();
      ctx.moveTo(0, AXIS_H - 0.5);
      ctx.lineTo(this.w, AXIS_H - 0.5);
      ctx.stroke();
    }
  }

  return { Gantt, orderColor, indexColor, fmtWeighted };
})();
