// Unit tests of web/js/records.js (the records' URLs, range maths and
// response -> rows for the charts' ranges, the dose history, the motion
// timeline and the vet's report) under Node's test runner.
//
//   node --test tests/browser/records-unit.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";

process.env.TZ = "Europe/Berlin"; // dateTimeText is local time; pin it

const r = await import("../../web/js/records.js");

const T0 = Date.UTC(2026, 11, 2, 14, 0, 0); // Wed 2 Dec 2026 15:00 in Berlin
const MIN = 60000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const params = (url) => Object.fromEntries(new URL(url, "http://x/").searchParams);

test("ranges: [now - width, now + 1), unknown ones refused", () => {
  assert.deepEqual(r.RANGES.map((x) => x.id), ["1h", "24h", "7d", "30d"]);
  assert.deepEqual(r.rangeWindow("7d", T0), { from: T0 + 1 - 7 * DAY, to: T0 + 1 });
  assert.deepEqual(r.rangeWindow("30d", T0 + 0.6), { from: T0 + 1 - 30 * DAY, to: T0 + 1 });
  assert.throws(() => r.rangeWindow("2w", T0), RangeError);
  assert.equal(r.rangeById("24h").ms, DAY);
  assert.equal(r.rangeById("x"), null);
});

test("history URL: the topic encoded, the chart's width as points (1..50000)", () => {
  const url = r.historyUrl("iod/home/sensors/temperature", "7d", T0, 612.4);
  assert.match(url, /^api\/history\?/);
  assert.deepEqual(params(url), {
    topic: "iod/home/sensors/temperature",
    from: String(T0 + 1 - 7 * DAY),
    to: String(T0 + 1),
    points: "612",
  });
  assert.match(r.historyUrl("iod/a b&c/sensors/x", "24h", T0, 300), /topic=iod%2Fa\+b%26c%2Fsensors%2Fx&/);
  assert.equal(r.pointsFor(0), 600);
  assert.equal(r.pointsFor(undefined), 600);
  assert.equal(r.pointsFor(-3), 600);
  assert.equal(r.pointsFor(0.6), 1);
  assert.equal(r.pointsFor(1e9), 50000);
});

test("history answer -> sorted [ts, mean, min, max]; bad rows dropped; bad shape refused", () => {
  const h = r.parseHistory({
    topic: "iod/home/sensors/temperature",
    from: 1,
    to: 2,
    bucket_ms: 60000,
    points: [[T0, 20, 19, 21], [T0 - MIN, 19.5], ["x", 1, 1, 1], [T0 + MIN, null, 1, 2], [T0 + 2 * MIN, 22, 23, 21.5]],
  });
  assert.equal(h.bucketMs, 60000);
  assert.deepEqual(h.points, [
    [T0 - MIN, 19.5, 19.5, 19.5],
    [T0, 20, 19, 21],
    [T0 + 2 * MIN, 22, 21.5, 23], // min and max swapped back around the mean
  ]);
  assert.throws(() => r.parseHistory({ error: "x" }), TypeError);
  assert.throws(() => r.parseHistory(null), TypeError);
});

test("live readings append after the last bucket and the range slides", () => {
  const h = { bucketMs: HOUR, points: [[T0 - 7 * DAY + HOUR, 1, 1, 1], [T0 - HOUR, 2, 1, 3]] };
  assert.equal(r.appendLive(h, T0 - 2 * HOUR, 5, 7 * DAY), false); // older than the last: ignored
  assert.equal(r.appendLive(h, T0 - HOUR, 5, 7 * DAY), false); // the same ts
  assert.equal(r.appendLive(h, T0 + 2 * HOUR, 4, 7 * DAY), true);
  assert.deepEqual(h.points, [[T0 - HOUR, 2, 1, 3], [T0 + 2 * HOUR, 4, 4, 4]]); // the first fell out
  assert.equal(r.appendLive(h, T0 + 3 * HOUR, null, 7 * DAY), false);
});

test("history columns are in seconds, with a null where the store has a gap", () => {
  const h = { bucketMs: MIN, points: [[T0, 1, 0, 2], [T0 + MIN, 2, 1, 3], [T0 + 30 * MIN, 3, 3, 3]] };
  const [xs, mean, lo, hi] = r.historyColumns(h);
  assert.deepEqual(xs, [T0 / 1000, (T0 + MIN) / 1000, (T0 + 15.5 * MIN) / 1000, (T0 + 30 * MIN) / 1000]);
  assert.deepEqual(mean, [1, 2, null, 3]);
  assert.deepEqual(lo, [0, 1, null, 3]);
  assert.deepEqual(hi, [2, 3, null, 3]);
  // Hour buckets: 3 h apart is a gap, 2 h is not.
  const hh = { bucketMs: HOUR, points: [[T0, 1, 1, 1], [T0 + 2 * HOUR, 1, 1, 1], [T0 + 6 * HOUR, 1, 1, 1]] };
  assert.deepEqual(r.historyColumns(hh)[1], [1, 1, null, 1]);
  assert.deepEqual(r.historyColumns({ bucketMs: 0, points: [] }), [[], [], [], []]);
});

test("dose rows: words for outcome, verification and source; only the bridge's snapshot URLs", () => {
  const res = r.parseDoses({
    doses: [
      { id: "a", ts: T0 - DAY, by: "operator", source: "manual", slot: null, outcome: "failed", reason: "jammed", verified: null, delta_g: null, snapshot: null },
      { id: "b", ts: T0, by: "schedule", source: "schedule", slot: "2026-12-02T15:00", outcome: "ok", reason: null, verified: true, delta_g: 1.84, snapshot: "/api/snapshots/b.jpg" },
      { id: "c", ts: T0 - HOUR, outcome: "uncertain", verified: false, snapshot: "https://evil.example/x.jpg" },
      { id: "d", ts: "yesterday" },
    ],
    truncated: true,
  });
  assert.equal(res.truncated, true);
  assert.deepEqual(res.doses.map((d) => d.id), ["b", "c", "a"]); // newest first, no bad ts
  const [b, c, a] = res.doses;
  assert.equal(b.outcomeText, "Given");
  assert.equal(b.verifiedText, "Seen in the bowl (+1.8 g)");
  assert.equal(b.sourceText, "Scheduled");
  assert.equal(b.snapshot, "api/snapshots/b.jpg");
  assert.equal(c.snapshot, null);
  assert.equal(c.verifiedText, "Not seen in the bowl");
  assert.equal(c.outcomeText, "Uncertain");
  assert.equal(a.verifiedText, "Not verified");
  assert.equal(a.outcomeText, "Failed");
  assert.equal(a.reason, "jammed");
  assert.equal(a.slot, "");
  assert.equal(r.imageUrl("/api/snapshots/../x.jpg"), null);
  assert.equal(r.imageUrl("/api/events/17.jpg"), "api/events/17.jpg");
  assert.throws(() => r.parseDoses({ doses: "no" }), TypeError);
});

test("dose pages go back by `to`; the CSV covers what a page shows", () => {
  const first = r.firstDosePage(T0);
  assert.deepEqual(first, { from: T0 + 1 - r.DOSE_SPAN_MS, to: T0 + 1 });
  assert.deepEqual(params(r.dosesUrl({ ...first, limit: 20 })), { from: String(first.from), to: String(T0 + 1), limit: "20" });
  const full = { doses: Array.from({ length: 20 }, (_, i) => ({ ts: T0 - i * HOUR })), truncated: false };
  const older = r.olderDosePage(first, full, 20);
  assert.deepEqual(older, { from: T0 - 19 * HOUR - r.DOSE_SPAN_MS, to: T0 - 19 * HOUR }); // to exclusive: not shown twice
  assert.equal(r.olderDosePage(first, { doses: full.doses.slice(0, 5), truncated: false }, 20), null);
  assert.notEqual(r.olderDosePage(first, { doses: full.doses.slice(0, 5), truncated: true }, 20), null);
  assert.equal(r.olderDosePage(first, { doses: [], truncated: true }, 20), null);
  assert.deepEqual(r.shownRange(first, full), { from: T0 - 19 * HOUR, to: T0 + 1 });
  assert.deepEqual(r.shownRange(first, { doses: [] }), first);
  assert.deepEqual(params(r.dosesCsvUrl({ from: 5, to: 9 })), { from: "5", to: "9" });
  assert.match(r.dosesCsvUrl({ from: 5, to: 9 }), /^api\/doses\.csv\?/);
});

test("motion events: URL, rows newest first, lengths in words", () => {
  assert.deepEqual(params(r.eventsUrl("motion", "24h", T0)), {
    kind: "motion",
    from: String(T0 + 1 - DAY),
    to: String(T0 + 1),
    limit: String(r.EVENT_LIMIT),
  });
  const { events, truncated } = r.parseEvents({
    events: [
      { id: 3, kind: "motion", ts: T0 - HOUR, end: T0 - HOUR + 42000, score: 0.04, thumbnail: "/api/events/3.jpg" },
      { id: 4, kind: "motion", ts: T0, end: null, score: 0.1, thumbnail: null },
      { id: 5, kind: "motion", ts: T0 - DAY, end: T0 - DAY - 5, thumbnail: "javascript:alert(1)" },
    ],
    truncated: false,
  });
  assert.equal(truncated, false);
  assert.deepEqual(events.map((e) => e.id), ["4", "3", "5"]);
  assert.equal(events[1].thumbnail, "api/events/3.jpg");
  assert.equal(events[2].thumbnail, null);
  assert.equal(events[2].end, null); // an end before the start is no end
  assert.equal(r.eventLength(events[1]), "for 42 s");
  assert.equal(r.eventLength(events[0]), "");
  assert.equal(r.eventLength({ ts: 0, end: 3 * MIN }), "for 3 min");
  assert.equal(r.eventLength({ ts: 0, end: 75 * MIN }), "for 1 h 15 min");
  assert.throws(() => r.parseEvents({}), TypeError);
});

// proto/README.md's example of GET /api/report?days=2 (report.c's own output).
const REPORT = {"ts":1796212800000,"from":"2026-12-01","to":"2026-12-02","n_days":2,"days":[{"date":"2026-12-01","start":1796079600000,"end":1796166000000,"planned":2,"given":1,"late":1,"missed":0,"failed":0,"uncertain":0,"served":0,"skipped":0,"paused":0,"pending":0,"verified":1,"manual":0},{"date":"2026-12-02","start":1796166000000,"end":1796252400000,"planned":1,"given":1,"late":0,"missed":0,"failed":0,"uncertain":0,"served":0,"skipped":0,"paused":0,"pending":1,"verified":1,"manual":0}],"totals":{"planned":3,"given":2,"late":1,"missed":0,"failed":0,"uncertain":0,"served":0,"skipped":0,"paused":0,"pending":1,"verified":2,"manual":0},"adherence_30":{"days":30,"from":"2026-11-03","planned":3,"taken":3,"fraction":1},"adherence_90":{"days":90,"from":"2026-09-04","planned":3,"taken":3,"fraction":1},"plan_changes":[{"ts":1796122800000,"rev":7,"by":"vet","summary":"19:00 instead of 20:00"}]};

test("the report: days, totals, both adherence figures with counts, plan changes", () => {
  assert.equal(r.reportUrl(30), "api/report?days=30");
  assert.equal(r.reportUrl("90"), "api/report?days=90");
  assert.throws(() => r.reportUrl(7), RangeError);
  const rep = r.parseReport(REPORT);
  assert.equal(rep.nDays, 2);
  assert.deepEqual(rep.days.map((d) => d.date), ["2026-12-01", "2026-12-02"]);
  assert.deepEqual(rep.days[0], { date: "2026-12-01", start: 1796079600000, planned: 2, given: 1, late: 1, missed: 0, uncertain: 0, failed: 0, verified: 1, served: 0 });
  assert.deepEqual(rep.totals, { planned: 3, given: 2, late: 1, missed: 0, uncertain: 0, failed: 0, verified: 2, served: 0 });
  assert.equal(r.reportColumns(rep), r.DAY_COLUMNS, "no slot served: no Served column");
  const served = r.parseReport({ ...REPORT, totals: { ...REPORT.totals, served: 1 } });
  assert.deepEqual(r.reportColumns(served).map(([k]) => k), ["planned", "given", "late", "served", "missed", "uncertain", "failed", "verified"]);
  assert.deepEqual(r.DAY_COLUMNS.map(([k]) => k), ["planned", "given", "late", "missed", "uncertain", "failed", "verified"]);
  assert.equal(r.adherenceText(rep.adherence30), "100 % (3 of 3 planned doses taken)");
  assert.equal(rep.adherence90.from, "2026-09-04");
  assert.equal(r.adherenceText({ planned: 30, taken: 28, fraction: 28 / 30 }), "93.3 % (28 of 30 planned doses taken)");
  assert.equal(r.adherenceText({ planned: 0, taken: 0, fraction: null }), "No doses planned");
  assert.equal(r.adherenceText(null), "Not known");
  assert.deepEqual(rep.planChanges, [{ ts: 1796122800000, rev: 7, by: "vet", summary: "19:00 instead of 20:00" }]);
  // Missing counts are 0, a missing adherence is null, a bad shape refused.
  const thin = r.parseReport({ days: [{ date: "2026-12-01" }, { nodate: 1 }] });
  assert.equal(thin.days.length, 1);
  assert.equal(thin.days[0].missed, 0);
  assert.equal(thin.adherence30, null);
  assert.throws(() => r.parseReport({ days: 3 }), TypeError);
});

test("dates and times in words, in the browser's zone", () => {
  assert.equal(r.dateText("2026-12-01", "en-GB"), "Tue, 1 Dec 2026");
  assert.equal(r.dateText("not a date"), "not a date");
  // 2026-03-29 01:30 UTC is 03:30 CEST (the spring-forward night in Berlin).
  assert.equal(r.dateTimeText(Date.UTC(2026, 2, 29, 1, 30), "en-GB"), "Sun, 29 Mar 2026, 03:30");
  assert.equal(r.dateTimeText(T0, "en-GB"), "Wed, 2 Dec 2026, 15:00");
});

test("errors in words: 503 records_unavailable, 401, 400 with detail, no answer", () => {
  assert.match(r.errorText(503, { error: "records_unavailable" }), /^Records unavailable/);
  assert.match(r.errorText(503, null), /^Records unavailable/);
  assert.match(r.errorText(401, { error: "not_authorized" }), /log in/);
  assert.equal(
    r.errorText(400, { error: "bad_range", detail: "from >= to" }),
    "The bridge refused the time range. from >= to",
  );
  assert.equal(r.errorText(400, { error: "bad_points" }), "The bridge refused the request (HTTP 400, bad_points).");
  assert.match(r.errorText(0, null), /Cannot reach the bridge/);
});

test("fetchRecords: same-origin credentials, rows or words, aborts passed on", async () => {
  const seen = [];
  const reply = (status, body) => async (url, opts) => {
    seen.push([url, opts.credentials]);
    return { ok: status >= 200 && status < 300, status, json: async () => (body === undefined ? JSON.parse("<") : body) };
  };
  const ok = await r.fetchRecords("api/doses", r.parseDoses, reply(200, { doses: [], truncated: false }));
  assert.deepEqual(ok, { ok: true, status: 200, data: { doses: [], truncated: false } });
  assert.deepEqual(seen[0], ["api/doses", "same-origin"]);
  const down = await r.fetchRecords("api/history", r.parseHistory, reply(503, { error: "records_unavailable" }));
  assert.equal(down.ok, false);
  assert.equal(down.status, 503);
  assert.match(down.error, /^Records unavailable/);
  const html = await r.fetchRecords("api/history", r.parseHistory, reply(502, undefined));
  assert.equal(html.error, "The bridge refused the request (HTTP 502).");
  const wrong = await r.fetchRecords("api/history", r.parseHistory, reply(200, { nope: 1 }));
  assert.match(wrong.error, /Unexpected answer.*not a history/);
  const gone = await r.fetchRecords("api/doses", r.parseDoses, async () => {
    throw new TypeError("Failed to fetch");
  });
  assert.equal(gone.status, 0);
  assert.match(gone.error, /Cannot reach/);
  const abort = Object.assign(new Error("aborted"), { name: "AbortError" });
  await assert.rejects(r.fetchRecords("api/doses", r.parseDoses, async () => {
    throw abort;
  }), /aborted/);
});

test("who gave a dose: source, slot as its time, the person unless the schedule", () => {
  assert.equal(r.slotText("2026-12-01T07:00"), "07:00 slot");
  assert.equal(r.slotText("odd"), "slot odd");
  assert.equal(r.slotText(""), "");
  assert.equal(r.whoText({ source: "schedule", slot: "2026-12-01T19:00", by: "schedule" }), "Scheduled · 19:00 slot");
  assert.equal(r.whoText({ source: "manual", slot: "", by: "ann" }), "Manual · by ann");
  assert.equal(r.whoText({ source: "", slot: "", by: "" }), "Dose");
  assert.equal(r.parseDoses({ doses: [{ ts: 1, source: "manual", by: "operator" }] }).doses[0].whoText, "Manual · by operator");
  assert.match(r.dateText("2026-12-01", "en-GB", true), /^Tue,? 1 Dec$/); // ICU versions differ on the comma
});
