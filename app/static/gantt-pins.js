// The Gantt page's pins and moves. "Move bars" (or Alt+drag) drags a bar to another
// resource row or time; the drop asks POST /schedules/{id}/moves, which checks the move
// against the rules and repairs the plan around it: the repaired plan opens, or the
// refusal (the rule the move would break) shows above the chart. A click on a bar shows
// its step with pin actions (the step where it is, the order at its site; GET/POST/DELETE
// /pins); pinned steps carry a marker on the chart.
"use strict";

const GanttPins = (() => {
  const h = rp.h;
  const MARK = "#111827";
  const STATE_TEXT = { floor: "started or done on the floor", "cannot hold": "cannot hold",
    unchecked: "not checked" };

  class Pins {
    constructor(el, gantt, jobId) {
      this.el = el;
      this.gantt = gantt;
      this.jobId = jobId;
      this.pins = [];
      this.byStep = new Map();  // "order/unit/op" -> step pin
      this.bySite = new Map();  // order -> site pin
      this.selected = null;
      this.build();
      gantt.onBarDrop = (bar, target) => this.drop(bar, target);
      gantt.decorate = (ctx, b, x, y, w, hgt) => this.mark(ctx, b, x, y, w, hgt);
      gantt.overlay = (ctx) => this.ghost(ctx);
      const click = gantt.onBarClick;
      gantt.onBarClick = (bar) => { this.select(bar); if (click) click(bar); };
      // the pins once the plan could be read (with a key, where keys are needed)
      const loaded = gantt.onLoad;
      gantt.onLoad = (data) => {
        loaded(data);
        if (this.started) return;
        this.started = true;
        this.load();
        this.showOrigin();
      };
    }

    build() {
      this.moveBtn = h("button", { type: "button", id: "move-mode", "aria-pressed": "false",
        title: "drag a bar to another resource or time (Alt+drag works too)",
        onclick: () => this.setMoveMode(!this.gantt.moveMode) }, "Move bars");
      this.pinChk = h("input", { type: "checkbox", id: "move-pin" });
      this.msg = h("div", { id: "move-msg", class: "pins-msg", "aria-live": "polite" });
      this.origin = h("div", { id: "move-origin", class: "pins-origin", hidden: true });
      this.step = h("div", { id: "pin-panel", class: "pins-step", hidden: true });
      this.count = h("summary", { id: "pin-count" }, "No pins");
      this.list = h("ul", { id: "pin-list", class: "pins-list" });
      this.el.replaceChildren(
        h("div", { class: "pins-tools" }, this.moveBtn,
          h("label", { title: "pin each moved step where it is dropped" }, this.pinChk,
            " pin moved steps"),
          h("span", { class: "hint" },
            "Drag a bar in move mode, or with Alt held, to another resource or time."),
          h("details", { class: "pins-all" }, this.count, this.list)),
        this.origin, this.msg, this.step);
    }

    setMoveMode(on) {
      this.gantt.moveMode = on;
      this.moveBtn.setAttribute("aria-pressed", String(on));
      this.moveBtn.classList.toggle("on", on);
      this.gantt.canvas.classList.toggle("move-mode", on);
    }

    async load() {
      try {
        const out = await rp.api("/pins");
        this.pins = out.items;
      } catch (err) {
        this.pins = [];
        rp.show(this.msg, rp.errorBox(err));
      }
      this.byStep = new Map(this.pins.filter((p) => p.kind === "step")
        .map((p) => [`${p.order}/${p.unit}/${p.op}`, p]));
      this.bySite = new Map(this.pins.filter((p) => p.kind === "site").map((p) => [p.order, p]));
      const n = this.pins.length;
      const bad = this.pins.filter((p) => p.state === "cannot hold").length;
      this.count.textContent = n ? `${n} pin${n > 1 ? "s" : ""}` +
        (bad ? ` · ${bad} cannot hold` : "") : "No pins";
      this.count.classList.toggle("bad", bad > 0);
      this.list.replaceChildren(...this.pins.map((p) => h("li", { "data-pin": String(p.id),
        class: p.state === "cannot hold" ? "bad" : "" },
      p.kind === "step" ? `${p.order}/${p.unit}/${p.op} on ${p.resource} from ` +
        `${rp.fmtTime(new Date(p.start), this.gantt.tz)}` : `${p.order} at ${p.site}`,
      h("span", { class: "hint" }, ` · ${p.set_by}${p.reason ? ` · “${p.reason}”` : ""}`),
      p.state === "holds" ? "" : h("span", { class: "pin-state" },
        ` · ${STATE_TEXT[p.state] || p.state}${p.why ? `: ${p.why}` : ""}`),
      h("button", { type: "button", class: "link", onclick: () => this.unpin(p) }, "remove"))),
      n ? "" : h("li", { class: "hint" }, "Click a bar to pin its step or its order's site."));
      this.el.dataset.pins = String(n);
      this.el.dataset.ready = "1";
      this.gantt.draw();
      if (this.selected) this.select(this.selected);
    }

    // a plan repaired around a move says so, with the plan it came from
    async showOrigin() {
      let job;
      try {
        job = await rp.api(`/schedules/${encodeURIComponent(this.jobId)}`);
      } catch (err) {
        return;  // the Gantt shows why the plan cannot be read
      }
      const mv = job.params && job.params.move;
      if (!mv) return;
      const tz = "UTC";
      this.origin.hidden = false;
      this.origin.replaceChildren(
        `Repaired around a move: ${mv.step} from ${mv.was.resource} at ` +
        `${rp.fmtTime(new Date(mv.was.start), tz)} to ${mv.resource} at ` +
        `${rp.fmtTime(new Date(mv.start), tz)} (${tz}). `,
        h("a", { href: `/schedules/${encodeURIComponent(mv.from)}/view` }, "the plan before"));
    }

    iso(minute) {
      const hs = Date.parse(this.gantt.data.horizon.start);
      return new Date(hs + minute * 60000).toISOString().replace(".000Z", "Z");
    }

    async drop(bar, target) {
      if (target.group === bar.group && target.start_min === bar.start_min) return;
      const body = { order: bar.order, unit: bar.unit, op: bar.op, pin: this.pinChk.checked };
      if (target.group !== bar.group) body.resource = target.group;
      if (target.start_min !== bar.start_min) body.start = this.iso(target.start_min);
      const where = `${target.group} at ${rp.fmtTime(new Date(this.iso(target.start_min)),
        this.gantt.tz)}`;
      this.el.dataset.move = "pending";
      rp.show(this.msg, h("div", { class: "msg" },
        `Checking ${bar.id} on ${where} and repairing the plan around it…`));
      this.pending = { bar, target };
      this.gantt.draw();
      let out;
      try {
        out = await rp.api(`/schedules/${encodeURIComponent(this.jobId)}/moves`,
          { method: "POST", json: body });
      } catch (err) {
        this.pending = null;
        this.gantt.draw();
        this.el.dataset.move = "refused";
        const box = h("div", { class: "msg error", role: "alert", id: "move-refusal" },
          h("strong", {}, err.status === 422 ? "Move refused: " : "Move failed: "),
          (err.body && err.body.errors && err.body.errors[0] && err.body.errors[0].message) ||
            err.message);
        rp.show(this.msg, box);
        return;
      }
      const url = `/schedules/${encodeURIComponent(out.job.id)}/view`;
      if (out.job.status !== "done" && out.job.status !== "cancelled") {
        this.pending = null;
        this.el.dataset.move = "running";
        rp.show(this.msg, h("div", { class: "msg" }, "The repair is still running: ",
          h("a", { href: url }, "open the repaired plan"), " when it is done."));
        return;
      }
      this.el.dataset.move = "accepted";
      location.assign(url);
    }

    // a pinned step: a dark tab on the bar's left edge, with a white notch
    mark(ctx, b, x, y, w, hgt) {
      if (!this.byStep.has(b.id)) return;
      const s = Math.min(hgt, 10);
      ctx.save();
      ctx.fillStyle = MARK;
      ctx.fillRect(x, y, Math.min(w, 4), hgt);
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.lineTo(x + s, y);
      ctx.lineTo(x, y + s);
      ctx.closePath();
      ctx.fill();
      ctx.restore();
    }

    // the dragged bar's landing place (and a dropped one's, while the repair runs)
    ghost(ctx) {
      const g = this.gantt.ghost || (this.pending && this.pending.target);
      if (!g) return;
      const box = this.gantt.slotBox(g.group, g.start_min, g.end_min);
      if (!box) return;
      ctx.save();
      ctx.fillStyle = "rgba(17, 24, 39, 0.18)";
      ctx.fillRect(box.x, box.y, box.w, box.h);
      ctx.setLineDash([4, 3]);
      ctx.strokeStyle = MARK;
      ctx.lineWidth = 2;
      ctx.strokeRect(box.x + 1, box.y + 1, Math.max(0, box.w - 2), Math.max(0, box.h - 2));
      ctx.setLineDash([]);
      ctx.fillStyle = MARK;
      ctx.font = "bold 11px system-ui, sans-serif";
      ctx.textBaseline = "bottom";
      const label = `${g.bar.id} → ${g.group} ${rp.fmtTime(new Date(this.iso(g.start_min)),
        this.gantt.tz)}`;
      ctx.fillText(label, Math.max(box.x, 175), box.y - 1 > 50 ? box.y - 1 : box.y + box.h + 12);
      ctx.restore();
    }

    // the clicked bar's step, with its pins and the pin actions
    select(bar) {
      this.selected = bar;
      const stepPin = this.byStep.get(bar.id);
      const sitePin = this.bySite.get(bar.order);
      const site = this.gantt.data.groups.find((g) => g.id === bar.group);
      const siteId = site ? site.site : "";
      const reason = h("input", { type: "text", id: "pin-reason", maxlength: "2000",
        placeholder: "why (for the next planner)", "aria-label": "reason" });
      const act = (label, id, fn) => h("button", { type: "button", id, onclick: fn }, label);
      const parts = [
        h("strong", {}, bar.id), ` on ${bar.group} from `,
        rp.fmtTime(new Date(this.iso(bar.start_min)), this.gantt.tz), " ",
      ];
      if (stepPin) {
        parts.push(h("span", { class: "pin-tag", title: stepPin.reason || "" },
          `pinned by ${stepPin.set_by}${stepPin.state !== "holds" ? ` · ${stepPin.state}` : ""}`),
        act("Unpin step", "unpin-step", () => this.unpin(stepPin)));
      } else {
        parts.push(reason, act("Pin step here", "pin-step", () => this.pin({
          kind: "step", order: bar.order, unit: bar.unit, op: bar.op, resource: bar.group,
          start: this.iso(bar.start_min), reason: reason.value })));
      }
      if (sitePin) {
        parts.push(h("span", { class: "pin-tag", title: sitePin.reason || "" },
          `${bar.order} pinned to ${sitePin.site}`),
        act("Unpin site", "unpin-site", () => this.unpin(sitePin)));
      } else if (siteId) {
        parts.push(act(`Pin ${bar.order} to ${siteId}`, "pin-site", () => this.pin({
          kind: "site", order: bar.order, site: siteId, reason: reason.value })));
      }
      const why = [stepPin, sitePin].filter((p) => p && p.why).map((p) =>
        h("div", { class: "msg error" }, `Pin ${p.id} cannot hold: ${p.why}`));
      this.step.hidden = false;
      this.step.dataset.item = bar.id;
      this.step.replaceChildren(h("div", { class: "pins-row" }, ...parts), ...why);
    }

    async pin(body) {
      try {
        const p = await rp.api("/pins", { method: "POST", json: body });
        rp.show(this.msg, h("div", { class: "msg ok" }, p.kind === "step"
          ? `Pinned ${p.order}/${p.unit}/${p.op} on ${p.resource}: later plans keep it there.`
          : `Pinned ${p.order} to ${p.site}: later plans build it there.`));
      } catch (err) {
        rp.show(this.msg, rp.errorBox(err));
      }
      await this.load();
    }

    async unpin(p) {
      try {
        await rp.api(`/pins/${p.id}`, { method: "DELETE" });
        rp.show(this.msg, h("div", { class: "msg ok" }, `Pin ${p.id} removed.`));
      } catch (err) {
        rp.show(this.msg, rp.errorBox(err));
      }
      await this.load();
    }
  }

  return { Pins };
})();

(function main() {
  const el = document.getElementById("pins-bar");
  if (!el || !window.rackGantt) return;
  window.rackPins = new GanttPins.Pins(el, window.rackGantt, window.rackGantt.jobId);
})();
