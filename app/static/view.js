// The Gantt page of one schedule: /schedules/{id}/view?site=…&order=…
"use strict";

(function main() {
  rp.keyBar(document.getElementById("key-slot"));
  const m = /^\/schedules\/([^/]+)\/view\/?$/.exec(location.pathname);
  const jobId = m ? decodeURIComponent(m[1]) : "";
  const params = new URLSearchParams(location.search);
  document.getElementById("title").textContent = `Schedule ${jobId}`;
  document.title = `Schedule ${jobId} — rackplan`;
  document.getElementById("compare-link").href = `/ui/compare?${new URLSearchParams({ b: jobId })}`;
  exportButtons(jobId, document.getElementById("export-csv"),
    document.getElementById("export-xlsx"), document.getElementById("export-msg"));
  const gantt = new RackGantt.Gantt(document.getElementById("gantt"), {
    jobId,
    site: params.get("site") || "",
    order: params.get("order") || "",
    onChange: (f) => {
      const q = new URLSearchParams();
      if (f.site) q.set("site", f.site);
      if (f.order) q.set("order", f.order);
      history.replaceState(null, "", location.pathname + (q.toString() ? `?${q}` : ""));
    },
    onLoad: (data) => {
      document.getElementById("plan-facts").textContent = planFacts(data);
    },
    onBarClick: (bar) => explainOrder(bar.order),
    onLateClick: (id) => explainOrder(id),
  });
  const panel = new GanttExplain.Panel(document.getElementById("explain-panel"), gantt, jobId);
  function explainOrder(id) { panel.open(id); }
  window.rackGantt = gantt;
  window.rackExplain = panel;
  gantt.reload();
})();
