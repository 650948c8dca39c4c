// Shared by the Gantt page, the front page and the compare page: a plan's key figures
// and its exports.
"use strict";

function planFacts(data) {
  const k = data.kpis || {};
  const parts = [data.status || "", `objective ${data.objective || ""}`];
  if (k.orders !== undefined) parts.push(`${k.on_time}/${k.orders} orders on time`);
  if (k.total_weighted_tardiness_min !== undefined && k.total_weighted_tardiness_min !== null) {
    parts.push(`weighted tardiness ${rp.fmtWeighted(k.total_weighted_tardiness_min)}`);
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

// "plan" (a solve) or "reschedule"
function planKind(kind) {
  return kind === "reschedule" ? "reschedule" : "plan";
}

// a plan's name, else its id
function planName(job) {
  return job.name || job.id;
}

// the link to the compare page of plans `a` (before) and `b` (after)
function compareHref(a, b) {
  return `/ui/compare?${new URLSearchParams({ a, b })}`;
}
