// The monitor's dashboard: fetches lead times from the monitor's own JSON API and draws them as
// inline SVG. No libraries and no network beyond the monitor (the page's CSP allows nothing else).
//
// The analyst token comes from the URL fragment (#token=..., which never leaves the browser) or
// from the sign-in form, and is kept in sessionStorage for this tab only. When the page is done,
// <body data-state> is "ready" (or "error", "login"), which the headless-browser test waits for.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const TOKEN_KEY = "ketenzicht-monitor-token";
const LABELS = {
  "T0-T2": "signal → report",
  "T2-T3": "report → OM (police phase)",
  "T2-T4": "report → examining magistrate",
  "T3-T5": "OM registration → decision",
  "T2-T5": "report → OM decision",
  "T5-T7": "OM decision → verdict (court)",
  "T6-T7": "first hearing → verdict",
  "T2-T7": "report → verdict",
  "T0-T8": "signal → final (whole chain)",
};
const DEFAULT_COHORT_INTERVAL = "T0-T2";
const DAYS_PER_MONTH = 30.4375;

class AuthError extends Error {}

function takeTokenFromFragment() {
  const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

async function request(path) {
  const response = await fetch(path, {
    headers: { Authorization: "Bearer " + token() },
    cache: "no-store",
  });
  if (response.status === 401 || response.status === 403) {
    throw new AuthError((await response.json()).error || "not allowed");
  }
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error || message; } catch (ignored) { /* text */ }
    throw new Error(message);
  }
  return response;
}

async function api(path) {
  return (await request(path)).json();
}

function svgElement(name, attributes, parent) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes || {})) {
    element.setAttribute(key, String(value));
  }
  if (parent) parent.appendChild(element);
  return element;
}

function svgText(content, attributes, parent) {
  const element = svgElement("text", attributes, parent);
  element.textContent = content;
  return element;
}

function clear(element) {
  while (element.firstChild) element.removeChild(element.firstChild);
}

function niceMaximum(value) {
  if (!(value > 0)) return 30;
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

function days(value) {
  return value === null || value === undefined ? "–" : Math.round(value).toString();
}

// Horizontal box plots, one row per entry: {key, label, row}.
function drawBoxPlots(svg, entries, idPrefix) {
  clear(svg);
  const left = 250, right = 220, top = 28, rowHeight = 34;
  const width = 1100, plotWidth = width - left - right;
  const height = top + rowHeight * Math.max(entries.length, 1) + 30;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("height", height);
  const values = [];
  for (const { row } of entries) {
    for (const v of [row.p90_days, row.q3_days, row.km_median_days]) {
      if (v !== null && v !== undefined) values.push(v);
    }
    if (row.norm_months) values.push(row.norm_months * DAYS_PER_MONTH);
  }
  const maximum = niceMaximum(Math.max(0, ...values));
  const x = (d) => left + (plotWidth * d) / maximum;

  const axis = svgElement("g", { class: "axis" }, svg);
  for (let i = 0; i <= 5; i += 1) {
    const d = (maximum * i) / 5;
    svgElement("line", { class: "grid", x1: x(d), x2: x(d), y1: top - 6,
                         y2: height - 24 }, axis);
    svgText(`${Math.round(d)}`, { x: x(d), y: height - 8, "text-anchor": "middle" }, axis);
  }
  svgText("days", { x: left + plotWidth, y: top - 12, "text-anchor": "end" }, axis);

  entries.forEach(({ key, label, row }, index) => {
    const y = top + index * rowHeight;
    const middle = y + rowHeight / 2;
    const group = svgElement("g", { class: "series", id: `${idPrefix}-${key}`,
                                    "data-key": key }, svg);
    svgText(label, { x: left - 10, y: middle + 4, "text-anchor": "end" }, group);
    const counts = `${row.closed} closed · ${row.open} open · ${row.cases} cases`;
    svgText(counts, { class: "counts", x: left + plotWidth + 10, y: middle + 4 }, group);
    if (row.norm_months) {
      const norm = x(row.norm_months * DAYS_PER_MONTH);
      svgElement("line", { class: "norm", x1: norm, x2: norm, y1: y + 2,
                           y2: y + rowHeight - 2 }, group);
    }
    if (row.q1_days === null || row.q3_days === null || row.median_days === null) {
      const why = row.small_group ? "withheld: small group"
        : row.complementary ? "withheld: would reveal a small group"
        : "withheld: too few closed";
      svgText(why, { class: "withheld", x: left + 6, y: middle + 4 }, group);
    } else {
      svgElement("line", { class: "whisker", x1: x(row.q3_days), x2: x(row.p90_days),
                           y1: middle, y2: middle }, group);
      svgElement("line", { class: "whisker", x1: x(row.p90_days), x2: x(row.p90_days),
                           y1: middle - 7, y2: middle + 7 }, group);
      const box = svgElement("rect", {
        class: "box", x: x(row.q1_days), y: y + 6,
        width: Math.max(1, x(row.q3_days) - x(row.q1_days)), height: rowHeight - 12,
        "data-median": row.median_days,
      }, group);
      svgElement("title", {}, box).textContent =
        `median ${days(row.median_days)} d, quartiles ${days(row.q1_days)}–` +
        `${days(row.q3_days)} d, p90 ${days(row.p90_days)} d`;
      svgElement("line", { class: "median", x1: x(row.median_days), x2: x(row.median_days),
                           y1: y + 5, y2: y + rowHeight - 5 }, group);
    }
    if (row.km_median_days !== null && row.km_median_days !== undefined) {
      const cx = x(row.km_median_days);
      svgElement("path", { class: "km-median",
                           d: `M${cx},${middle - 6} L${cx + 6},${middle} L${cx},${middle + 6} ` +
                              `L${cx - 6},${middle} Z` }, group);
    }
  });
  if (entries.length === 0) {
    svgText("no cases yet", { class: "withheld", x: left, y: top + 18 }, svg);
  }
}

// Stacked bars of open units per interval, by age band.
function drawOpenAges(svg, rows) {
  clear(svg);
  const bands = ["0-6m", "6-12m", "1-2y", "2-3y", "3y+"];
  const entries = rows.filter((row) => row.open > 0);
  const left = 250, top = 34, rowHeight = 28, width = 1100, plotWidth = width - left - 160;
  const height = top + rowHeight * Math.max(entries.length, 1) + 30;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("height", height);
  const legend = svgElement("g", { class: "legend" }, svg);
  bands.forEach((band, i) => {
    svgElement("rect", { class: `age-band band-${i}`, x: left + i * 90, y: 6, width: 14,
                         height: 14 }, legend);
    svgText(band, { x: left + i * 90 + 20, y: 18 }, legend);
  });
  const maximum = niceMaximum(Math.max(0, ...entries.map((row) => row.open)));
  entries.forEach((row, index) => {
    const y = top + index * rowHeight;
    const group = svgElement("g", { class: "series", id: `open-${row.interval}`,
                                    "data-key": row.interval }, svg);
    svgText(LABELS[row.interval] || row.interval,
            { x: left - 10, y: y + rowHeight / 2 + 4, "text-anchor": "end" }, group);
    if (!row.open_ages) {
      svgText(`${row.open} open (ages withheld: small group)`,
              { class: "withheld", x: left + 6, y: y + rowHeight / 2 + 4 }, group);
      return;
    }
    let offset = 0;
    bands.forEach((band, i) => {
      const count = row.open_ages.by_band[band] || 0;
      if (count === 0) return;
      const w = (plotWidth * count) / maximum;
      const rect = svgElement("rect", {
        class: `age-band band-${i}`, x: left + offset, y: y + 4, width: w,
        height: rowHeight - 8, "data-band": band, "data-count": count,
      }, group);
      svgElement("title", {}, rect).textContent = `${band}: ${count} open`;
      offset += w;
    });
    svgText(`${row.open} open, median age ${days(row.open_ages.median_days)} d`,
            { class: "counts", x: left + offset + 8, y: y + rowHeight / 2 + 4 }, group);
  });
  if (entries.length === 0) {
    svgText("no open cases", { class: "withheld", x: left, y: top + 18 }, svg);
  }
}

// The table beside a box-plot chart: per interval (or per group of one interval).
function drawTable(table, rows, first) {
  const caption = table.caption;
  clear(table);
  if (caption) table.appendChild(caption);
  const columns = [
    first || ["interval", (r) => `${r.interval} ${LABELS[r.interval] || ""}`],
    ["cases", (r) => r.cases], ["closed", (r) => r.closed], ["open", (r) => r.open],
    ["out of sight", (r) => r.out_of_sight], ["ended", (r) => r.ended],
    ["median", (r) => days(r.median_days)], ["q1", (r) => days(r.q1_days)],
    ["q3", (r) => days(r.q3_days)], ["p90", (r) => days(r.p90_days)],
    ["KM median", (r) => days(r.km_median_days)],
    ["within norm", (r) => (r.share_within_norm === null ? "–"
      : `${Math.round(100 * r.share_within_norm)}%`)],
  ];
  const head = table.createTHead().insertRow();
  for (const [name] of columns) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = name;
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    tr.dataset.interval = row.interval;
    if (row.group !== undefined) tr.dataset.group = row.group;
    for (const [, value] of columns) tr.insertCell().textContent = String(value(row));
  }
}

// A table from column names and rows of cell values; `keyOf` gives each row's data-key.
function fillTable(table, names, rows, keyOf) {
  const caption = table.caption;
  clear(table);
  if (caption) table.appendChild(caption);
  const head = table.createTHead().insertRow();
  for (const name of names) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = name;
    head.appendChild(th);
  }
  const body = table.createTBody();
  rows.forEach((cells, index) => {
    const tr = body.insertRow();
    if (keyOf) tr.dataset.key = keyOf(index);
    for (const value of cells) tr.insertCell().textContent = String(value);
  });
}

// Open units per interval by age band, the counts of the chart beside it.
function drawOpenAgesTable(table, rows) {
  const bands = ["0-6m", "6-12m", "1-2y", "2-3y", "3y+"];
  const entries = rows.filter((row) => row.open > 0);
  fillTable(table, ["interval", "open", ...bands, "median age"],
            entries.map((row) => [`${row.interval} ${LABELS[row.interval] || ""}`, row.open,
              ...bands.map((band) => (row.open_ages ? row.open_ages.by_band[band] || 0
                : "withheld")),
              row.open_ages ? days(row.open_ages.median_days) : "withheld"]),
            (i) => entries[i].interval);
}

// The Kaplan–Meier median per year with its 95% interval: a point and a bar per year, and the
// same figures in the table beside it (readable without colour: every value is also a number).
function drawTrend(svg, table, trend) {
  clear(svg);
  const left = 70, right = 30, top = 20, bottom = 40, width = 700, height = 300;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("height", height);
  const years = trend.years;
  const values = [];
  for (const y of years) {
    for (const v of [y.km_median_days, y.lower_days, y.upper_days]) {
      if (v !== null) values.push(v);
    }
  }
  const maximum = niceMaximum(Math.max(0, ...values));
  const plotWidth = width - left - right, plotHeight = height - top - bottom;
  const step = plotWidth / Math.max(years.length, 1);
  const x = (i) => left + step * (i + 0.5);
  const y = (d) => top + plotHeight - (plotHeight * d) / maximum;
  const axis = svgElement("g", { class: "axis" }, svg);
  for (let i = 0; i <= 4; i += 1) {
    const d = (maximum * i) / 4;
    svgElement("line", { class: "grid", x1: left, x2: width - right, y1: y(d), y2: y(d) }, axis);
    svgText(`${Math.round(d)} d`, { x: left - 8, y: y(d) + 4, "text-anchor": "end" }, axis);
  }
  const points = [];
  years.forEach((row, i) => {
    const group = svgElement("g", { class: "series", id: `trend-${row.year}` }, svg);
    svgText(String(row.year), { x: x(i), y: height - bottom + 18, "text-anchor": "middle" },
            group);
    if (row.km_median_days === null) {
      const why = row.small_group ? "withheld" : "not reached";
      svgText(why, { class: "withheld", x: x(i), y: top + plotHeight / 2,
                     "text-anchor": "middle" }, group);
      return;
    }
    const low = row.lower_days === null ? 0 : row.lower_days;
    const high = row.upper_days === null ? maximum : row.upper_days;
    svgElement("line", { class: "trend-ci", x1: x(i), x2: x(i), y1: y(low), y2: y(high),
                         "data-year": row.year }, group);
    svgElement("circle", { class: "trend-median", cx: x(i), cy: y(row.km_median_days), r: 5,
                           "data-year": row.year, "data-days": row.km_median_days }, group);
    points.push(`${x(i)},${y(row.km_median_days)}`);
  });
  if (points.length > 1) {
    svgElement("polyline", { class: "trend-line", points: points.join(" ") }, svg);
  }

  const caption = table.caption;
  clear(table);
  if (caption) table.appendChild(caption);
  const head = table.createTHead().insertRow();
  for (const name of ["year", "cases", "closed", "KM median", "95% from", "95% to"]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = name;
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const row of years) {
    const tr = body.insertRow();
    tr.dataset.year = row.year;
    const cells = [row.year, row.cases, row.closed,
                   row.small_group ? "withheld" : days(row.km_median_days),
                   days(row.lower_days), row.upper_days === null ? "open" : days(row.upper_days)];
    for (const value of cells) tr.insertCell().textContent = String(value);
  }
}

const DASHES = ["", "6 3", "2 3", "8 3 2 3", "1 2"];

// Kaplan–Meier step curves per group with their 95% bands, and the table of the same shares at
// fixed days beside it. Groups differ by dash pattern and carry their label, not only a colour.
function drawSurvival(svg, table, survival, prefix) {
  clear(svg);
  const left = 60, right = 70, top = 15, bottom = 40, width = 700, height = 320;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("height", height);
  const curves = survival.curves.filter((c) => c.points.length > 0);
  const last = Math.max(1, ...curves.map((c) => c.points[c.points.length - 1].day));
  const maximum = niceMaximum(last);
  const plotWidth = width - left - right, plotHeight = height - top - bottom;
  const x = (d) => left + (plotWidth * d) / maximum;
  const y = (share) => top + plotHeight * (1 - share);
  const axis = svgElement("g", { class: "axis" }, svg);
  for (let i = 0; i <= 4; i += 1) {
    svgElement("line", { class: "grid", x1: left, x2: width - right, y1: y(i / 4),
                         y2: y(i / 4) }, axis);
    svgText(`${i * 25}%`, { x: left - 8, y: y(i / 4) + 4, "text-anchor": "end" }, axis);
    const d = (maximum * i) / 4;
    svgText(`${Math.round(d)} d`, { x: x(d), y: height - bottom + 18, "text-anchor": "middle" },
            axis);
  }
  curves.forEach((curve, index) => {
    const group = svgElement("g", { class: "series",
                                    id: `${prefix || "survival"}-${curve.group}` }, svg);
    const upper = [], lower = [], line = [];
    curve.points.forEach((p, i) => {
      if (i > 0) {
        const before = curve.points[i - 1];
        upper.push(`${x(p.day)},${y(before.upper)}`);
        lower.push(`${x(p.day)},${y(before.lower)}`);
        line.push(`L${x(p.day)},${y(before.survival)}`);
      }
      upper.push(`${x(p.day)},${y(p.upper)}`);
      lower.push(`${x(p.day)},${y(p.lower)}`);
      line.push(`${i === 0 ? "M" : "L"}${x(p.day)},${y(p.survival)}`);
    });
    svgElement("polygon", { class: "km-band", "data-group": curve.group,
                            points: upper.concat(lower.reverse()).join(" ") }, group);
    svgElement("path", { class: "km-curve", "data-group": curve.group, d: line.join(" "),
                         "stroke-dasharray": DASHES[index % DASHES.length] }, group);
    const end = curve.points[curve.points.length - 1];
    svgText(curve.group, { x: x(end.day) + 4, y: y(end.survival) + 4 }, group);
  });
  if (curves.length === 0) {
    svgText("every group withheld", { class: "withheld", x: left + 10, y: top + 20 }, svg);
  }

  const caption = table.caption;
  clear(table);
  if (caption) table.appendChild(caption);
  const head = table.createTHead().insertRow();
  for (const name of [survival.by.replace("_", " "), "cases",
                      ...survival.days.map((d) => `${d} d`)]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = name;
    head.appendChild(th);
  }
  const share = (p) => (p === null ? "–"
    : `${Math.round(100 * p.survival)}% (${Math.round(100 * p.lower)}–${Math.round(100 * p.upper)})`);
  const body = table.createTBody();
  for (const curve of survival.curves) {
    const tr = body.insertRow();
    tr.dataset.group = curve.group;
    tr.insertCell().textContent = curve.group;
    tr.insertCell().textContent = String(curve.cases);
    for (let i = 0; i < survival.days.length; i += 1) {
      tr.insertCell().textContent = curve.small_group ? "withheld" : share(curve.at_days[i]);
    }
  }
}

const CHAIN_FIGURES = [
  ["victims_in_view", "victims in view", (y) => y.victims_in_view],
  ["reports", "reports, cooperations", (y) => y.reports + y.cooperations],
  ["om_inflow", "OM inflow", (y) => y.om_inflow],
  ["first_instance_verdicts", "first-instance verdicts", (y) => y.first_instance_verdicts],
];

// Grouped bars per year, each with its number above it and a legend by name, and the table.
function drawChainFigures(svg, table, figures) {
  clear(svg);
  const left = 50, right = 10, top = 40, bottom = 40, width = 700, height = 300;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("height", height);
  const years = figures.years;
  const maximum = niceMaximum(Math.max(1, ...years.flatMap(
    (y) => CHAIN_FIGURES.map(([, , value]) => value(y)))));
  const plotWidth = width - left - right, plotHeight = height - top - bottom;
  const slot = plotWidth / Math.max(years.length, 1);
  const bar = (slot * 0.8) / CHAIN_FIGURES.length;
  const y = (n) => top + plotHeight - (plotHeight * n) / maximum;
  const axis = svgElement("g", { class: "axis" }, svg);
  for (let i = 0; i <= 5; i += 1) {
    const n = (maximum * i) / 5;
    svgElement("line", { class: "grid", x1: left, x2: width - right, y1: y(n), y2: y(n) }, axis);
    svgText(String(Math.round(n)), { x: left - 6, y: y(n) + 4, "text-anchor": "end" }, axis);
  }
  CHAIN_FIGURES.forEach(([, label], i) => {
    svgElement("rect", { class: `figure-bar figure-${i}`, x: left + i * 155, y: 6, width: 12,
                         height: 12 }, svg);
    svgText(label, { x: left + i * 155 + 16, y: 16 }, svg);
  });
  years.forEach((row, index) => {
    const group = svgElement("g", { class: "series", id: `figures-${row.year}` }, svg);
    const start = left + slot * index + slot * 0.1;
    CHAIN_FIGURES.forEach(([key, , value], i) => {
      const count = value(row);
      svgElement("rect", { class: `figure-bar figure-${i}`, x: start + i * bar, y: y(count),
                           width: bar - 2, height: top + plotHeight - y(count),
                           "data-figure": key, "data-year": row.year, "data-count": count },
                 group);
      svgText(String(count), { class: "bar-count", x: start + i * bar + (bar - 2) / 2,
                               y: y(count) - 3, "text-anchor": "middle" }, group);
    });
    svgText(String(row.year), { x: left + slot * (index + 0.5), y: height - bottom + 18,
                                "text-anchor": "middle" }, group);
  });

  const caption = table.caption;
  clear(table);
  if (caption) table.appendChild(caption);
  const head = table.createTHead().insertRow();
  for (const name of ["year", ...CHAIN_FIGURES.map(([, label]) => label)]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = name;
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const row of years) {
    const tr = body.insertRow();
    tr.dataset.year = row.year;
    tr.insertCell().textContent = String(row.year);
    for (const [, , value] of CHAIN_FIGURES) tr.insertCell().textContent = String(value(row));
  }
}

const RESIDENCE_LABELS = {
  TemporaryPermitApplicationIndicated: "temporary permit: application (R5, R7)",
  TemporaryPermitWithoutCooperationIndicated: "temporary permit without cooperation (R16)",
  ReflectionPeriodExpiryDue: "reflection period expired (R6)",
  TemporaryPermitExtensionDue: "extension due (R9)",
  TemporaryPermitBasisEnded: "basis ended (R10)",
  NonTemporaryPermitIndicated: "non-temporary permit: ground (R11–R13, R15)",
  NonTemporaryAssessmentRequired: "non-temporary: assessment (R14)",
  ReassessmentRequired: "reassessment (R17)",
  ReflectionPeriodOfferRequired: "offer reflection period (R1, police)",
  DublinAssessmentOverdue: "Dublin assessment overdue (R8, OM)",
  DecisionNotAllowedFound: "decision not allowed (R4)",
};
const PATTERNS = 6;

// Residence's triggers per year, one bar per kind with its number and its fill pattern, a
// legend by name; the table of counts and days to the IND's decision, and the open indications.
function drawResidence(svg, table, openTable, residence) {
  clear(svg);
  const rows = residence.rows;
  const kinds = [...new Set(rows.map((r) => r.kind))].sort();
  const years = [...new Set(rows.map((r) => r.year))].sort();
  const legendRows = Math.ceil(kinds.length / 2);
  const left = 50, right = 10, top = 16 + 18 * legendRows, bottom = 40, width = 700;
  const height = top + 260 + bottom;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("height", height);
  const maximum = niceMaximum(Math.max(1, ...rows.map((r) => r.triggers)));
  const plotWidth = width - left - right, plotHeight = height - top - bottom;
  const slot = plotWidth / Math.max(years.length, 1);
  const bar = (slot * 0.8) / Math.max(kinds.length, 1);
  const y = (n) => top + plotHeight - (plotHeight * n) / maximum;
  const axis = svgElement("g", { class: "axis" }, svg);
  for (let i = 0; i <= 5; i += 1) {
    const n = (maximum * i) / 5;
    svgElement("line", { class: "grid", x1: left, x2: width - right, y1: y(n), y2: y(n) }, axis);
    svgText(String(Math.round(n)), { x: left - 6, y: y(n) + 4, "text-anchor": "end" }, axis);
  }
  kinds.forEach((kind, i) => {
    const lx = left + (i % 2) * 330, ly = 6 + 18 * Math.floor(i / 2);
    svgElement("rect", { class: `residence-bar pattern-${i % PATTERNS}`, x: lx, y: ly, width: 12,
                         height: 12 }, svg);
    svgText(RESIDENCE_LABELS[kind] || kind, { x: lx + 16, y: ly + 10 }, svg);
  });
  years.forEach((year, index) => {
    const group = svgElement("g", { class: "series", id: `residence-${year}` }, svg);
    const start = left + slot * index + slot * 0.1;
    kinds.forEach((kind, i) => {
      const row = rows.find((r) => r.year === year && r.kind === kind);
      if (!row) return;
      const rect = svgElement("rect", {
        class: `residence-bar pattern-${i % PATTERNS}`, x: start + i * bar, y: y(row.triggers),
        width: Math.max(1, bar - 2), height: top + plotHeight - y(row.triggers),
        "data-kind": kind, "data-year": year, "data-count": row.triggers }, group);
      svgElement("title", {}, rect).textContent =
        `${year}, ${RESIDENCE_LABELS[kind] || kind}: ${row.triggers}`;
      svgText(String(row.triggers), { class: "bar-count", x: start + i * bar + (bar - 2) / 2,
                                      y: y(row.triggers) - 3, "text-anchor": "middle" }, group);
    });
    svgText(String(year), { x: left + slot * (index + 0.5), y: height - bottom + 18,
                            "text-anchor": "middle" }, group);
  });
  if (rows.length === 0) {
    svgText("no triggers yet", { class: "withheld", x: left + 10, y: top + 20 }, svg);
  }

  const wait = (r) => (!r.asks_decision ? "no decision asked"
    : r.small_group && r.answered > 0 ? "withheld" : days(r.median_days_to_decision));
  fillTable(table, ["year", "kind", "triggers", "retracted", "answered", "open",
                    "median days to decision"],
            rows.map((r) => [r.year, RESIDENCE_LABELS[r.kind] || r.kind, r.triggers, r.retracted,
                             r.asks_decision ? r.answered : "–", r.asks_decision ? r.open : "–",
                             wait(r)]),
            (i) => `${rows[i].year}-${rows[i].kind}`);
  const still = residence.open_indications;
  fillTable(openTable, ["kind", "open", "median age (days)", "oldest year"],
            still.map((o) => [RESIDENCE_LABELS[o.kind] || o.kind, o.open,
                              o.small_group ? "withheld" : days(o.median_age_days),
                              o.oldest_year === null ? "withheld" : o.oldest_year]),
            (i) => still[i].kind);
}

// Chart and table both, or the table alone: one button per section, its state in aria-pressed.
function setUpToggles() {
  for (const button of document.querySelectorAll("button.view-toggle")) {
    button.addEventListener("click", () => {
      const section = button.closest("section");
      const tableOnly = section.dataset.view !== "table";
      section.dataset.view = tableOnly ? "table" : "both";
      button.setAttribute("aria-pressed", String(tableOnly));
      button.textContent = tableOnly ? "Chart and table" : "Table only";
    });
  }
}

function query() {
  const asOf = document.getElementById("as-of").value;
  return asOf ? `as_of=${encodeURIComponent(asOf)}` : "";
}

async function render() {
  document.body.dataset.state = "loading";
  const status = document.getElementById("status");
  const select = document.getElementById("cohort-interval");
  const interval = select.value || DEFAULT_COHORT_INTERVAL;
  try {
    const [overall, cohorts, trend, survival, cohortSurvival, figures, residence] =
      await Promise.all([
      api(`/api/lead-times?${query()}`),
      api(`/api/lead-times?${query()}&by=cohort&interval=${encodeURIComponent(interval)}`),
      api(`/api/trend?${query()}&interval=${encodeURIComponent(interval)}`),
      api(`/api/survival?${query()}&interval=${encodeURIComponent(interval)}`),
      api(`/api/survival?${query()}&interval=${encodeURIComponent(interval)}&by=cohort`),
      api(`/api/figures?${query()}`),
      api(`/api/residence?${query()}`),
    ]);
    if (select.options.length === 0) {
      for (const name of overall.intervals) {
        const option = document.createElement("option");
        option.value = name;
        option.textContent = `${name} ${LABELS[name] || ""}`;
        option.selected = name === interval;
        select.appendChild(option);
      }
    }
    document.getElementById("cohort-interval-label").textContent =
      `${interval} ${LABELS[interval] || ""}`;
    drawBoxPlots(document.getElementById("chart-distribution"),
                 overall.rows.map((row) => ({ key: row.interval, row,
                   label: `${row.interval} ${LABELS[row.interval] || ""}` })), "interval");
    drawBoxPlots(document.getElementById("chart-cohort"),
                 // The overall row ("all") is the interval's box in the chart above.
                 cohorts.rows.filter((row) => row.group !== "all").map((row) => ({
                   key: row.group, row,
                   label: row.group === "none" ? "not in the pilot" : `cohort ${row.group}` })),
                 "cohort");
    document.getElementById("trend-interval-label").textContent =
      `${interval} ${LABELS[interval] || ""}`;
    drawTrend(document.getElementById("chart-trend"), document.getElementById("trend-table"),
              trend);
    document.getElementById("survival-interval-label").textContent =
      `${interval} ${LABELS[interval] || ""}`;
    drawSurvival(document.getElementById("chart-survival"),
                 document.getElementById("survival-table"), survival);
    document.getElementById("survival-cohort-interval-label").textContent =
      `${interval} ${LABELS[interval] || ""}`;
    drawSurvival(document.getElementById("chart-survival-cohort"),
                 document.getElementById("survival-cohort-table"), cohortSurvival,
                 "survival-cohort");
    drawChainFigures(document.getElementById("chart-figures"),
                     document.getElementById("figures-table"), figures);
    drawResidence(document.getElementById("chart-residence"),
                  document.getElementById("residence-table"),
                  document.getElementById("residence-open-table"), residence);
    drawOpenAges(document.getElementById("chart-open-ages"), overall.rows);
    drawOpenAgesTable(document.getElementById("open-ages-table"), overall.rows);
    drawTable(document.getElementById("lead-time-table"), overall.rows);
    drawTable(document.getElementById("cohort-table"), cohorts.rows,
              ["group", (r) => (r.group === "all" ? "all (overall)"
                : r.group === "none" ? "not in the pilot" : `cohort ${r.group}`)]);
    status.textContent = `As of ${overall.as_of} (known by ${overall.known_by}); groups ` +
      `under ${overall.min_group_size} cases are withheld.`;
    document.body.dataset.state = "ready";
  } catch (error) {
    if (error instanceof AuthError) {
      showLogin(error.message);
      return;
    }
    status.textContent = `Could not load the figures: ${error.message}`;
    document.body.dataset.state = "error";
  }
}

function showLogin(reason) {
  document.getElementById("login").hidden = false;
  document.getElementById("charts").hidden = true;
  document.getElementById("status").textContent = reason ? `Sign in again: ${reason}` : "";
  document.body.dataset.state = "login";
}

async function download(path) {
  const separator = path.includes("?") ? "&" : "?";
  const q = query();
  const response = await request(q ? `${path}${separator}${q}` : path);
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = (/filename="([^"]+)"/.exec(disposition) || [null, "export"])[1];
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function start() {
  takeTokenFromFragment();
  setUpToggles();
  document.getElementById("controls").addEventListener("submit", (event) => {
    event.preventDefault();
    render();
  });
  document.getElementById("cohort-interval").addEventListener("change", () => render());
  document.getElementById("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin("");
  });
  document.getElementById("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, document.getElementById("token-input").value.trim());
    document.getElementById("token-input").value = "";
    document.getElementById("login").hidden = true;
    document.getElementById("charts").hidden = false;
    render();
  });
  for (const button of document.querySelectorAll("button[data-download]")) {
    button.addEventListener("click", () => download(button.dataset.download).catch((error) => {
      document.getElementById("status").textContent = `Download failed: ${error.message}`;
    }));
  }
  if (!token()) {
    showLogin("");
    return;
  }
  render();
}

start();
