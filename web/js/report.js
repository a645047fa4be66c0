// The vet's report page (report.html): GET /api/report?days=30|90 from the
// bridge, shown as tables that print on A4 (report.css). The rows come from
// records.js (pure, tested under Node); texts go in with textContent.

import {
  REPORT_DAYS,
  adherenceText,
  dateText,
  dateTimeText,
  fetchRecords,
  parseReport,
  reportColumns,
  reportUrl,
} from "./records.js";

const $ = (id) => document.getElementById(id);
const FLAGGED = new Set(["late", "missed", "uncertain", "failed"]);

function cell(tag, text, className) {
  const c = document.createElement(tag);
  c.textContent = text;
  if (className) c.className = className;
  return c;
}

let seq = 0;

async function load(days) {
  const mine = ++seq;
  const status = $("report-status");
  status.hidden = false;
  status.dataset.tone = "pending";
  status.textContent = `Loading the last ${days} days…`;
  $("print").disabled = true;
  const [session, res] = await Promise.all([
    fetchRecords("api/session", (j) => j).catch(() => null),
    fetchRecords(reportUrl(days), parseReport),
  ]);
  if (mine !== seq) return;
  const site = session && session.ok && typeof session.data.site === "string" ? session.data.site : "";
  $("report-title").textContent = site ? `Medication report — ${site}` : "Medication report";
  for (const id of ["adherence", "days-block", "changes-block"]) $(id).hidden = !res.ok;
  if (!res.ok) {
    status.dataset.tone = "bad";
    status.textContent = `Could not load the report: ${res.error}`;
    $("report-sub").textContent = "";
    $("report-foot").textContent = "";
    return;
  }
  const r = res.data;
  status.hidden = true;
  status.textContent = "";
  $("print").disabled = false;
  $("report-sub").textContent = `${dateText(r.from)} – ${dateText(r.to)} (${r.nDays} days)`;
  for (const [id, a] of [["adh-30", r.adherence30], ["adh-90", r.adherence90]]) {
    $(id).textContent = adherenceText(a);
    $(`${id}-from`).textContent = a && a.from ? `since ${dateText(a.from)}` : "";
  }

  const columns = reportColumns(r);
  const head = $("days-head");
  head.replaceChildren(cell("th", "Date"), ...columns.map(([, label]) => cell("th", label)));
  for (const th of head.children) th.scope = "col";
  $("days-body").replaceChildren(
    ...r.days.map((d) => {
      const tr = document.createElement("tr");
      const th = cell("th", dateText(d.date, undefined, true));
      th.scope = "row";
      // Late, missed, uncertain and failed stand out (bold; in colour on screen).
      tr.append(th, ...columns.map(([k]) => cell("td", String(d[k]), d[k] && FLAGGED.has(k) ? "flag" : "")));
      return tr;
    }),
  );
  const total = $("days-total");
  const th = cell("th", "Total");
  th.scope = "row";
  total.replaceChildren(th, ...columns.map(([k]) => cell("td", String(r.totals[k]))));

  $("changes-body").replaceChildren(
    ...r.planChanges.map((c) => {
      const tr = document.createElement("tr");
      tr.append(
        cell("td", dateTimeText(c.ts)),
        cell("td", c.rev === null ? "–" : String(c.rev)),
        cell("td", c.by || "–"),
        cell("td", c.summary || "–"),
      );
      return tr;
    }),
  );
  $("changes-table").hidden = r.planChanges.length === 0;
  $("changes-empty").hidden = r.planChanges.length > 0;
  $("report-foot").textContent =
    `Made ${r.ts === null ? "" : dateTimeText(r.ts)} by iod${site ? ` (${site})` : ""}. ` +
    "Dates are calendar days in the feeder's time zone; times in this browser's.";
}

function chosenDays() {
  const picked = document.querySelector('input[name="days"]:checked');
  const d = picked ? Number(picked.value) : REPORT_DAYS[0];
  return REPORT_DAYS.includes(d) ? d : REPORT_DAYS[0];
}

for (const input of document.querySelectorAll('input[name="days"]')) {
  input.addEventListener("change", () => load(chosenDays()));
}
// report.html?days=90 opens on 90 days.
const asked = Number(new URLSearchParams(location.search).get("days"));
if (REPORT_DAYS.includes(asked)) {
  const input = document.querySelector(`input[name="days"][value="${asked}"]`);
  if (input) input.checked = true;
}
$("print").addEventListener("click", () => window.print());
load(chosenDays());
