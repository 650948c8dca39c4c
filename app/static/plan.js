// Shared by the Gantt page and the front page: a plan's key figures and its exports.
"use strict";

function planFacts(data) {
  const k = data.kpis || {};
  const parts = [data.status || "", `objective ${data.objective || ""}`];
  if (k.orders !== undefined) parts.push(`${k.on_time}/${k.orders} orders on time`);
  if (k.total_weighted_tardiness_min !== undefined && k.total_weighted_tardiness_min !== null) {
    // weighted minutes (weight x minutes late, summed): a figure, never a duration
    const wt = Math.round(k.total_weighted_tardiness_min);
    parts.push(`weighted tardiness ${wt.toLocaleString("en-US")} weighted min` +
      (wt >= 600 ? ` (${Math.round(wt / 60).toLocaleString("en-US")} weighted h)` : ""));
  }
  if (k.makespan_min !== undefined && k.makespan_min !== null) {
    parts.push(`makespan ${rp.fmtDuration(k.makespan_min)}`);
  }
  return parts.filter(Boolean).join(" · ");
}

function exportButtons(jobId, csvBtn, xlsxBtn, msg) {
  const go = async (ext) => {
    msg.replaceChildren();
    try {
      await rp.download(`/schedules/${encodeURIComponent(jobId)}/export.${ext}`,
        `schedule-${jobId}.${ext}`);
    } catch (err) {
      rp.show(msg, rp.errorBox(err));
    }
  };
  csvBtn.onclick = () => go("csv");
  xlsxBtn.onclick = () => go("xlsx");
}
