// The Gantt page's explanation panel: why a late order is late, in sentences, from
// GET /schedules/{id}/orders/{order}/explain; the bars of its last rack and the bars that
// held it are highlighted on the chart. "What would make it on time?" asks the same
// endpoint with what_if=true (each change is re-solved and validated by the service).
"use strict";

const GanttExplain = (() => {
  const CLASS_TEXT = {
    structural: "Structural: late even alone in the factory",
    priority: "Priority: waited for orders that weigh less or are due later",
    capacity: "Capacity: the factory was full",
    site: "Site: another site would have been faster",
    quota: "Quota: a customer's site-share quota kept it from a faster site",
    plan: "Plan: nothing in the factory held it",
  };
  const CAUSE_TEXT = {
    resource: "busy resources", power: "the power cap", shift: "closed shifts",
    weekend: "weekends", holiday: "holidays", downtime: "downtime", idle: "idle in the plan",
    release: "its release", transit: "transit", site: "the site chosen", fixed: "fixed steps",
    horizon_start: "the plan's start",
    quota: "the customer's site-share quota",
  };
  const KIND_TEXT = {
    priority: "Priority", site: "Another site", resource: "One more resource",
    shift: "One more shift", power: "More power",
  };

  class Panel {
    constructor(el, gantt, jobId) {
      this.el = el;
      this.gantt = gantt;
      this.jobId = jobId;
      this.order = null;
      this.seq = 0;
      el.setAttribute("aria-live", "polite");
      document.addEventListener("keydown", (e) => {
        if (e.key === "Escape" && !this.el.hidden) this.close();
      });
    }

    url(order, whatIf) {
      return `/schedules/${encodeURIComponent(this.jobId)}/orders/` +
        `${encodeURIComponent(order)}/explain${whatIf ? "?what_if=true" : ""}`;
    }

    tz(site) {
      const s = this.gantt.sites && this.gantt.sites.get(site);
      return s ? s.timezone : "UTC";
    }

    async open(order) {
      const h = rp.h;
      if (this.order === order && this.el.dataset.ready === "1") return;
      const seq = ++this.seq;
      this.order = order;
      this.el.hidden = false;
      this.el.dataset.ready = "0";
      this.el.dataset.order = order;
      this.el.replaceChildren(this.head(order, null),
        h("p", { class: "xp-muted" }, "Reading the plan…"));
      let body;
      try {
        body = await rp.api(this.url(order, false));
      } catch (err) {
        if (seq !== this.seq) return;
        this.el.replaceChildren(this.head(order, null), rp.errorBox(err));
        this.el.dataset.ready = "error";
        return;
      }
      if (seq !== this.seq) return;
      this.render(body);
      this.el.dataset.ready = "1";
    }

    close() {
      this.seq++;
      this.order = null;
      this.el.hidden = true;
      this.el.replaceChildren();
      delete this.el.dataset.order;
      this.gantt.markBars(null);
    }

    head(order, body) {
      const h = rp.h;
      const badge = !body ? null : body.late
        ? h("span", { class: "badge late" }, `late ${rp.fmtDuration(body.tardiness_min)}`)
        : h("span", { class: "badge ok" }, "on time");
      return h("div", { class: "xp-head" },
        h("span", { class: "swatch", style: `background:${this.gantt.orderSwatch(order)}` }),
        h("h2", {}, order), badge,
        h("button", { type: "button", class: "link xp-close", title: "close (Esc)",
          "aria-label": "close", onclick: () => this.close() }, "×"));
    }

    render(body) {
      const h = rp.h;
      const ex = body.explanation;
      const parts = [this.head(body.order, body)];
      if (!ex) {
        parts.push(h("p", { class: "xp-lead" }, body.text));
        this.gantt.markBars(null);
        this.el.replaceChildren(...parts);
        return;
      }
      const tz = this.tz(ex.site);
      const when = (iso) => `${rp.fmtTime(new Date(iso), tz)}`;
      parts.push(
        h("p", { class: "xp-class" }, CLASS_TEXT[ex.class] || ex.class),
        h("p", { class: "xp-lead" }, ex.summary),
        h("dl", { class: "xp-facts" },
          h("dt", {}, "Due"), h("dd", {}, when(ex.due)),
          h("dt", {}, "Delivered"), h("dd", {}, when(ex.delivery)),
          h("dt", {}, "Alone"), h("dd", {}, `could arrive ${when(ex.earliest_delivery)}`),
          h("dt", {}, "Weight"), h("dd", {}, `${ex.weight} · ${ex.quantity} rack` +
            `${ex.quantity > 1 ? "s" : ""}`)),
        h("p", { class: "xp-muted" }, `Times local to ${ex.site} (${tz}).`),
        this.causes(ex),
        this.chain(ex, when),
        this.legend(),
        this.whatIfBlock(body.order, ex));
      this.el.replaceChildren(...parts);
      this.mark(ex);
    }

    // the causes, largest first, as a bar of minutes and a sentence
    causes(ex) {
      const h = rp.h;
      const list = ex.causes.filter((c) => c.minutes > 0);
      if (!list.length) return null;
      const most = Math.max(...list.map((c) => c.minutes));
      return h("section", { class: "xp-causes" },
        h("h3", {}, "What held it"),
        h("ul", {}, list.map((c) => h("li", { "data-cause": c.cause },
          h("span", { class: "xp-meter" }, h("span", {
            class: `xp-fill xp-${c.cause}`, style: `width:${Math.max(4, 100 * c.minutes / most)}%` })),
          h("span", { class: "xp-min" }, rp.fmtDuration(c.minutes)),
          h("span", {}, h("b", {}, CAUSE_TEXT[c.cause] || c.cause), ` — ${c.text}`)))));
    }

    // the latest rack's steps, each with the waits before it
    chain(ex, when) {
      const h = rp.h;
      const steps = ex.chain.map((st) => {
        const waits = this.waits([...st.waits, ...st.slower]);
        return h("li", {},
          waits,
          h("div", { class: "xp-step" },
            h("b", {}, st.op), ` on ${st.resource}, ${when(st.start)} → ${when(st.end)} `,
            h("span", { class: "xp-muted" }, `(${rp.fmtDuration(st.run_min)})`)));
      });
      if (ex.transit.minutes) {
        steps.push(h("li", {}, h("div", { class: "xp-step" }, h("b", {}, "transit"),
          ` ${ex.transit.site} → ${ex.transit.destination}, ` +
          `${rp.fmtDuration(ex.transit.minutes)}, delivered ${when(ex.transit.end)}`)));
      }
      return h("section", { class: "xp-chain" },
        h("h3", {}, `Rack ${ex.unit} at ${ex.site}, step by step`),
        h("p", { class: "xp-muted" }, `From ${when(ex.chain_start)} ` +
          `(${ex.chain_start_from.replace("_", " ")}).`),
        h("ol", {}, steps),
        h("p", { class: "xp-muted" }, `These minutes add up: ${ex.chain_min.toLocaleString()} = ` +
          `tardiness ${ex.tardiness_min.toLocaleString()} + slack ` +
          `${ex.slack_min.toLocaleString()} (due − start).`));
    }

    // a step's waits: each as a sentence, or by cause when there are many
    waits(list) {
      const h = rp.h;
      if (!list.length) return null;
      if (list.length <= 4) {
        return h("ul", { class: "xp-waits" }, list.map((w) => h("li", { "data-cause": w.cause },
          h("span", { class: `xp-tag xp-${w.cause}` }, `waited ${rp.fmtDuration(w.minutes)}`),
          ` ${w.text}`)));
      }
      const by = new Map();
      for (const w of list) {
        const got = by.get(w.cause) || { minutes: 0, n: 0, orders: new Set() };
        got.minutes += w.minutes;
        got.n += 1;
        for (const o of (w.ids && w.ids.orders) || []) got.orders.add(o);
        by.set(w.cause, got);
      }
      return h("ul", { class: "xp-waits" }, [...by.entries()]
        .sort((a, b) => b[1].minutes - a[1].minutes)
        .map(([cause, g]) => h("li", { "data-cause": cause },
          h("span", { class: `xp-tag xp-${cause}` }, `waited ${rp.fmtDuration(g.minutes)}`),
          ` for ${CAUSE_TEXT[cause] || cause} (${g.n === 1 ? "once" : `${g.n} times`})` +
          this.holders([...g.orders]))));
    }

    // ", held by SO-7, SO-9 and its own racks"
    holders(orders) {
      if (!orders.length) return "";
      const own = orders.includes(this.order);
      const others = orders.filter((o) => o !== this.order);
      const names = others.slice(0, 6).join(", ") +
        (others.length > 6 ? ` and ${others.length - 6} more` : "");
      if (!others.length) return ", held by its own racks";
      return `, held by ${names}${own ? " and its own racks" : ""}`;
    }

    legend() {
      const h = rp.h;
      return h("p", { class: "xp-legend" },
        h("span", { class: "xp-key xp-key-chain" }), "its last rack ",
        h("span", { class: "xp-key xp-key-order" }), "its other racks ",
        h("span", { class: "xp-key xp-key-held" }), "bars that held it");
    }

    // highlight the chain, the order's other bars and the holders; bring them into view
    mark(ex) {
      const roles = new Map();
      for (const it of (this.gantt.data ? this.gantt.data.items : [])) {
        if (it.order === ex.order) roles.set(it.id, "order");
      }
      for (const st of ex.chain) {
        for (const w of [...st.waits, ...st.slower]) {
          for (const id of (w.ids && w.ids.items) || []) {
            if (!id.startsWith(`${ex.order}/${ex.unit}/`)) roles.set(id, roles.get(id) === "order"
              ? "order" : "held");
          }
        }
      }
      for (const st of ex.chain) roles.set(st.item, "chain");
      this.gantt.markBars({ order: ex.order, roles });
      const first = ex.chain.length ? ex.chain[0] : null;
      if (first) {
        const a = Math.min(first.ready_min, ...ex.chain.map((s) => s.start_min));
        const b = Math.max(...ex.chain.map((s) => s.end_min));
        this.gantt.showSpan(a, b);
      }
    }

    whatIfBlock(order, ex) {
      const h = rp.h;
      const out = h("div", { class: "xp-whatif-out" });
      const btn = h("button", { type: "button", id: "what-if", onclick: async () => {
        btn.disabled = true;
        btn.textContent = "Re-solving around the order…";
        out.dataset.ready = "0";
        try {
          const body = await rp.api(this.url(order, true));
          if (this.order !== order) return;
          this.whatIfs(out, (body.explanation && body.explanation.what_if) || []);
          out.dataset.ready = "1";
          btn.remove();
        } catch (err) {
          out.replaceChildren(rp.errorBox(err));
          out.dataset.ready = "error";
          btn.disabled = false;
          btn.textContent = "Try again";
        }
      } }, "What would make it on time?");
      return h("section", { class: "xp-whatif" },
        h("h3", {}, "What would make it on time"),
        h("p", { class: "xp-muted" }, "Tries giving it priority, another site, one more " +
          "resource, a shift or more power; each is re-solved and validated (a few seconds each)."),
        btn, out);
    }

    whatIfs(out, list) {
      const h = rp.h;
      if (!list.length) {
        out.replaceChildren(h("p", {}, "None of these changes makes it less late."));
        return;
      }
      out.replaceChildren(h("ol", {}, list.map((w) => h("li", { "data-kind": w.kind },
        h("div", {}, h("b", {}, KIND_TEXT[w.kind] || w.kind), " ",
          w.on_time ? h("span", { class: "badge ok" }, "on time")
            : h("span", { class: "badge late" }, `still ${rp.fmtDuration(w.tardiness_min)} late`)),
        h("div", {}, w.text),
        h("div", { class: "xp-muted" }, w.checked)))));
    }
  }

  return { Panel };
})();
