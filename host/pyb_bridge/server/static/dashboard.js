// pyb-bridge dashboard: one chart per unit with the live tail of every
// channel of the chosen stream. History from /api/streams/<s>/readings, then
// new rows pushed by the server as Server-Sent Events (no polling loop).
// Plain canvas drawing, no libraries. The latest plotted board time (µs) is
// kept in <body data-last-board-time> (and the points drawn in data-points).
"use strict";

const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2",
                "#db2777", "#4b5563"];
const $ = (id) => document.getElementById(id);
const state = { streams: {}, stream: null, board: null, source: null, charts: [],
                series: {}, times: [], period: 0, drawPending: false, gaps: 0, gen: 0 };

function api(path) {
  return fetch("api/" + path).then((r) => r.json().then((body) => {
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  }));
}

function windowUs() { return Number($("window").value) * 1e6; }

function query(extra) {
  const q = new URLSearchParams(extra);
  if (state.board !== null) q.set("board", state.board);
  return q.toString();
}

function setState(text, cls) {
  const el = $("state");
  el.textContent = text;
  el.className = "state " + (cls || "");
}

// ---- data ----------------------------------------------------------------

function addRows(columns, rows) {
  const it = columns.indexOf("board_time_us");
  const names = state.info.channels.map((c) => c.name);
  const idx = names.map((n) => columns.indexOf(n));
  for (const r of rows) {
    state.times.push(r[it]);
    for (let k = 0; k < names.length; k++) state.series[names[k]].push(r[idx[k]]);
  }
  trim();
  scheduleDraw();
}

function trim() {
  const t = state.times;
  if (!t.length) return;
  const cut = t[t.length - 1] - windowUs();
  let n = 0;
  while (n < t.length && t[n] < cut) n++;
  if (n > 0) {
    t.splice(0, n);
    for (const k in state.series) state.series[k].splice(0, n);
  }
}

function usualStep() {
  if (state.period > 0) return state.period;
  const t = state.times;  // stamped per record: the median step
  const steps = [];
  for (let i = 1; i < t.length; i++) steps.push(t[i] - t[i - 1]);
  steps.sort((a, b) => a - b);
  return steps.length ? steps[steps.length >> 1] : 0;
}

// ---- drawing -------------------------------------------------------------

function makeCharts() {
  const main = $("charts");
  main.textContent = "";
  const byUnit = new Map();
  state.info.channels.forEach((c, i) => {
    const unit = c.unit || "(no unit)";
    if (!byUnit.has(unit)) byUnit.set(unit, []);
    byUnit.get(unit).push({ name: c.name, color: COLORS[i % COLORS.length] });
  });
  state.charts = [];
  for (const [unit, chans] of byUnit) {
    const box = document.createElement("div");
    box.className = "chart";
    box.dataset.unit = unit;
    const h = document.createElement("h2");
    h.textContent = unit;
    const legend = document.createElement("div");
    legend.className = "legend";
    for (const c of chans) {
      const s = document.createElement("span");
      s.style.color = c.color;
      s.textContent = "\u25A0 " + c.name;
      legend.appendChild(s);
    }
    const canvas = document.createElement("canvas");
    box.append(h, legend, canvas);
    main.appendChild(box);
    state.charts.push({ unit, chans, canvas });
  }
}

function scheduleDraw() {
  if (state.drawPending) return;
  state.drawPending = true;
  setTimeout(() => { state.drawPending = false; draw(); }, 30);
}

function niceTicks(lo, hi, n) {
  const span = hi - lo || 1;
  const raw = span / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
  return out;
}

function fmt(v) {
  const a = Math.abs(v);
  if (a >= 1e5 || (a > 0 && a < 1e-2)) return v.toExponential(1);
  return String(Math.round(v * 1000) / 1000);
}

function draw() {
  const t = state.times;
  const last = t.length ? t[t.length - 1] : 0;
  const win = windowUs();
  const step = usualStep();
  let gaps = 0;
  for (const ch of state.charts) {
    const cv = ch.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = cv.clientWidth, h = cv.clientHeight;
    if (cv.width !== Math.round(w * dpr)) { cv.width = Math.round(w * dpr); }
    if (cv.height !== Math.round(h * dpr)) { cv.height = Math.round(h * dpr); }
    const g = cv.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const L = 56, R = 8, T = 6, B = 22;
    let lo = Infinity, hi = -Infinity;
    for (const c of ch.chans) {
      for (const v of state.series[c.name]) {
        if (v === null) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    if (lo === Infinity) { lo = 0; hi = 1; }
    if (lo === hi) { lo -= 1; hi += 1; }
    const pad = (hi - lo) * 0.05;
    lo -= pad; hi += pad;
    const X = (tu) => L + (w - L - R) * (1 - (last - tu) / win);
    const Y = (v) => T + (h - T - B) * (hi - v) / (hi - lo);
    // axes and grid
    g.font = "11px system-ui, sans-serif";
    g.strokeStyle = "#e5e7eb";
    g.fillStyle = "#6b7280";
    g.lineWidth = 1;
    g.textAlign = "right";
    g.textBaseline = "middle";
    for (const v of niceTicks(lo, hi, 4)) {
      const y = Math.round(Y(v)) + 0.5;
      g.beginPath(); g.moveTo(L, y); g.lineTo(w - R, y); g.stroke();
      g.fillText(fmt(v), L - 4, y);
    }
    g.textAlign = "center";
    g.textBaseline = "top";
    for (const s of niceTicks(-win / 1e6, 0, 6)) {
      const x = Math.round(X(last + s * 1e6)) + 0.5;
      g.beginPath(); g.moveTo(x, T); g.lineTo(x, h - B); g.stroke();
      g.fillText(fmt(s) + " s", x, h - B + 4);
    }
    // lines, broken where board time jumps by more than twice the period
    g.lineWidth = 1.25;
    g.save();
    g.beginPath(); g.rect(L, T, w - L - R, h - T - B); g.clip();
    let chartGaps = 0;
    for (const c of ch.chans) {
      const vs = state.series[c.name];
      g.strokeStyle = c.color;
      g.beginPath();
      let pen = false;
      for (let i = 0; i < t.length; i++) {
        const v = vs[i];
        if (v === null) { pen = false; continue; }
        if (pen && step > 0 && t[i] - t[i - 1] > 2 * step) { pen = false; chartGaps++; }
        const x = X(t[i]), y = Y(v);
        if (pen) g.lineTo(x, y); else g.moveTo(x, y);
        pen = true;
      }
      g.stroke();
    }
    g.restore();
    gaps = Math.max(gaps, chartGaps / Math.max(1, ch.chans.length));
  }
  state.gaps = gaps;
  $("s-gaps").textContent = String(gaps);
  document.body.dataset.points = String(t.length);
  if (t.length) document.body.dataset.lastBoardTime = String(last);
}

// ---- status --------------------------------------------------------------

function showStats(s) {
  $("s-rows").textContent = s.rows.toLocaleString("en");
  $("s-rate").textContent = s.rate_hz.toFixed(1) + " Hz" +
    (s.nominal_rate_hz ? " (" + s.nominal_rate_hz + ")" : "");
  $("s-frames").textContent = String(s.frames);
  $("s-lost").textContent = String(s.frames_lost);
  $("s-lost").className = s.frames_lost ? "bad" : "";
  $("s-crc").textContent = String(s.crc_errors);
  $("s-crc").className = s.crc_errors ? "bad" : "";
  if (s.last_host_time) {
    const age = Date.now() / 1000 - s.last_host_time;
    $("s-age").textContent = age < 2 ? "now" : age < 120 ? Math.round(age) + " s ago"
      : new Date(s.last_host_time * 1000).toLocaleString();
  }
}

// ---- stream selection ----------------------------------------------------

async function select(name) {
  const gen = ++state.gen;
  if (state.source) { state.source.close(); state.source = null; }
  state.stream = name;
  state.info = state.streams[name];
  state.period = state.info.period_us || 0;
  state.times = [];
  state.series = {};
  for (const c of state.info.channels) state.series[c.name] = [];
  delete document.body.dataset.lastBoardTime;
  location.hash = "stream=" + encodeURIComponent(name);
  makeCharts();
  setState("loading");
  const enc = encodeURIComponent(name);
  const stats = await api("streams/" + enc + "/stats?" + query({}));
  if (gen !== state.gen) return;
  showStats(stats);
  const rate = stats.rate_hz || stats.nominal_rate_hz || 1000;
  // the rows of the window, by row id (no scan of the table), page by page
  const want = Math.min(200000, Math.ceil(rate * windowUs() / 1e6 * 1.1) + 10);
  let from = Math.max(0, stats.last_row - want);
  for (;;) {
    const page = await api("streams/" + enc + "/readings?" +
                           query({ after: from, limit: 10000 }));
    if (gen !== state.gen) return;
    addRows(page.columns, page.rows);
    if (page.rows.length) from = page.rows[page.rows.length - 1][0];
    if (page.next === null) break;
  }
  const es = new EventSource("api/streams/" + enc + "/events?" + query({ after: from }));
  state.source = es;
  es.addEventListener("rows", (e) => {
    const d = JSON.parse(e.data);
    addRows(d.columns, d.rows);
  });
  es.addEventListener("stats", (e) => {
    const s = JSON.parse(e.data);
    showStats(s);
    // a stream that started after the page loaded: rebuild the pickers
    if (s.streams && s.streams.some((n) => !(n in state.streams))) loadStreams();
  });
  es.onopen = () => setState("live", "live");
  es.onerror = () => setState(es.readyState === 2 ? "disconnected" : "reconnecting", "error");
}

async function loadStreams() {
  const [{ streams }, { boards }] = await Promise.all([api("streams"), api("boards")]);
  const sel = $("stream");
  sel.textContent = "";
  for (const s of streams) {
    state.streams[s.name] = s;
    const o = document.createElement("option");
    o.value = s.name;
    o.textContent = s.name + " (" + s.channels.map((c) => c.name).join(", ") + ")";
    sel.appendChild(o);
  }
  if (state.stream) sel.value = state.stream;
  const b = $("board");
  b.textContent = "";
  $("board-label").hidden = !boards.length;
  if (boards.length) {
    const all = document.createElement("option");
    all.value = ""; all.textContent = "all";
    b.appendChild(all);
    for (const x of boards) {
      const o = document.createElement("option");
      o.value = o.textContent = x.board;
      b.appendChild(o);
    }
    b.value = state.board === null ? "" : state.board;
  }
  return streams;
}

async function start() {
  try {
    const streams = await loadStreams();
    const sel = $("stream");
    const b = $("board");
    b.onchange = () => { state.board = b.value || null; select(state.stream); };
    if (!streams.length) {  // the logger has not seen a descriptor yet: ask again
      setState("no streams in this log yet", "error");
      setTimeout(start, 1000);
      return;
    }
    const m = /stream=([^&]+)/.exec(location.hash);
    const first = m && state.streams[decodeURIComponent(m[1])] ? decodeURIComponent(m[1])
      : streams[0].name;
    sel.value = first;
    sel.onchange = () => select(sel.value);
    $("window").onchange = () => { trim(); scheduleDraw(); select(state.stream); };
    window.addEventListener("resize", scheduleDraw);
    await select(first);
  } catch (e) {
    setState(String(e.message || e), "error");
  }
}

start();
