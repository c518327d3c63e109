// Inline SVG drawing for the dashboard: the cumulative spend chart and budget gauges.
// Geometry only through attributes (the page's CSP refuses inline styles).

const NS = "http://www.w3.org/2000/svg";

function el(name, attrs, parent) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (parent) parent.appendChild(e);
  return e;
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function money(v) {
  if (v >= 100) return "$" + v.toFixed(0);
  if (v >= 1) return "$" + v.toFixed(2).replace(/\.00$/, "");
  if (v === 0) return "$0";
  return "$" + v.toPrecision(2);
}

/**
 * Draw cumulative spend over [start, end]: `points` ([ms, usd], ascending), horizontal
 * budget `limits` ([{name, usd}]), a dashed `forecast` segment ([[ms, usd], [ms, usd]]) and
 * `ticks` ([[ms, label]]).
 */
export function drawSpend(svg, { start, end, now, points, limits, forecast, ticks, size }) {
  const W = Math.max(200, Math.round(size?.w || 400));
  const H = Math.max(100, Math.round(size?.h || 150));
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren();
  const m = { l: 44, r: 8, t: 8, b: 18 };
  const last = points.length ? points[points.length - 1][1] : 0;
  let top = last;
  for (const l of limits) top = Math.max(top, l.usd);
  if (forecast) top = Math.max(top, Math.min(forecast[1][1], (top || 1) * 3));
  const ymax = niceMax(top * 1.08);
  const x = (t) => m.l + ((Math.min(Math.max(t, start), end) - start) / (end - start)) * (W - m.l - m.r);
  const y = (v) => H - m.b - (Math.min(v, ymax) / ymax) * (H - m.t - m.b);
  el("line", { class: "axis", x1: m.l, y1: H - m.b, x2: W - m.r, y2: H - m.b }, svg);
  el("line", { class: "axis", x1: m.l, y1: m.t, x2: m.l, y2: H - m.b }, svg);
  for (const v of [0, ymax / 2, ymax]) {
    el("text", { class: "tick", x: m.l - 4, y: y(v) + 3, "text-anchor": "end" }, svg).textContent = money(v);
  }
  let lastLabelX = -Infinity;
  for (const [t, label] of ticks) {
    const tx = x(t);
    if (tx - lastLabelX < 34) continue;
    lastLabelX = tx;
    el("text", { class: "tick", x: tx, y: H - 4, "text-anchor": "middle" }, svg).textContent = label;
  }
  // step line: spend jumps when a request completes
  // one step per pixel column at most: thousands of requests draw as fast as a few
  let d = "";
  let prevX = null;
  let prevY = null;
  const cols = points.map((p) => Math.round(x(p[0])));
  for (let i = 0; i < points.length; i++) {
    const px = cols[i];
    const lastInColumn = i === points.length - 1 || cols[i + 1] !== px;
    if (prevX !== null && !lastInColumn) continue;
    const py = y(points[i][1]).toFixed(1);
    if (prevX === null) d += `M${px},${py}`;
    else if (lastInColumn && (px !== prevX || py !== prevY)) d += `H${px}V${py}`;
    else continue;
    prevX = px;
    prevY = py;
  }
  if (d) {
    el("path", { class: "area", d: `${d}V${y(0)}H${x(start)}Z` }, svg);
    el("path", { class: "spend", d, "data-last": last }, svg);
  }
  el("line", { class: "now", x1: x(now), y1: m.t, x2: x(now), y2: H - m.b }, svg);
  for (const l of limits) {
    el("line", { class: "limit", x1: m.l, y1: y(l.usd), x2: W - m.r, y2: y(l.usd), "data-usd": l.usd }, svg);
    el("text", { class: "limit-label", x: W - m.r - 2, y: y(l.usd) - 3, "text-anchor": "end" }, svg).textContent =
      `${l.name} ${money(l.usd)}`;
  }
  if (forecast) {
    const [[t0, v0], [t1, v1]] = forecast;
    // clip the segment at the window's end
    let te = t1;
    let ve = v1;
    if (t1 > end && t1 > t0) {
      te = end;
      ve = v0 + ((v1 - v0) * (end - t0)) / (t1 - t0);
    }
    el("path", { class: "forecast", d: `M${x(t0)},${y(v0)}L${x(te)},${y(ve)}` }, svg);
  }
}

/** A budget gauge: a bar with threshold marks, spent of limit, and the forecast. */
export function gauge(b, fmtUsd, thresholds = [0.5, 0.85, 0.95]) {
  const g = document.createElement("div");
  g.className = "gauge";
  g.dataset.name = b.name;
  g.dataset.level = b.level || "ok";
  g.dataset.pressure = String(b.pressure ?? 0);
  const row = document.createElement("div");
  row.className = "row";
  const name = document.createElement("strong");
  name.textContent = `${b.name}`;
  const scope = document.createElement("span");
  scope.className = "muted";
  scope.textContent = `${b.window || ""}${b.scope && b.scope !== "global" ? " · " + b.scope : ""}`;
  const amount = document.createElement("span");
  amount.className = "amount";
  const pct = Math.round((b.pressure ?? 0) * 100);
  amount.textContent = `${fmtUsd(b.spentUsd)} of ${fmtUsd(b.limitUsd)} · ${pct}%`;
  row.append(name, scope, amount);
  const bar = document.createElement("div");
  bar.className = "bar";
  bar.setAttribute("role", "meter");
  bar.setAttribute("aria-valuemin", "0");
  bar.setAttribute("aria-valuemax", "100");
  bar.setAttribute("aria-valuenow", String(pct));
  bar.setAttribute("aria-label", `${b.name} budget`);
  const fill = document.createElement("div");
  fill.className = "fill";
  fill.style.width = `${Math.min(100, Math.max(0, (b.pressure ?? 0) * 100))}%`;
  bar.append(fill);
  for (const t of thresholds) {
    const mk = document.createElement("div");
    mk.className = "mark";
    mk.style.left = `${t * 100}%`;
    bar.append(mk);
  }
  const fc = document.createElement("div");
  fc.className = "fc";
  if (b.forecastExhaustedAt) {
    const when = new Date(b.forecastExhaustedAt);
    fc.textContent = `at this rate it runs out ${when.toLocaleString(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit" })}`;
  } else {
    fc.textContent = (b.pressure ?? 0) >= 1 ? "used up" : "not on course to run out this window";
  }
  g.append(row, bar, fc);
  return g;
}
