// Rumorsim classroom app: plays back a run computed by the server (POST /api/run).
//
// The server sends every agent's joint state at every report time (replicate 0 of the
// seed), the layout, the edges and the curves; this script only draws. The edges are
// drawn once into an off-screen canvas; a step copies it and paints the nodes with one
// path per state, so a step costs O(agents) canvas work and no network round trip.
// window.rumorsim exposes the state for the browser tests.
"use strict";

const $ = (id) => document.getElementById(id);
const S = {
  settings: { scenario: null, seed: 0, params: {}, clicks: [], fired: [], layer: null },
  data: null, frames: null, nAgents: 0, nFrames: 0,
  trait: 0, frame: 0, playing: false, fps: 8, lastTick: 0, acc: 0,
  px: null, py: null, radius: 3, edgeCanvas: null, curveCanvas: null,
  yMax: 1, stats: { renders: 0, lastMs: 0, maxMs: 0, totalMs: 0 },
  requests: 0, pastNote: "",
};
window.rumorsim = S;

// ---------------------------------------------------------------- numbers

function human(x) {
  const a = Math.abs(x);
  const p3 = (v) => String(parseFloat(v.toPrecision(3)));  // 5 M, not 5.00 M
  if (a >= 1e9) return p3(x / 1e9) + " bn";
  if (a >= 1e6) return p3(x / 1e6) + " M";
  if (a >= 1e4) return p3(x / 1e3) + " k";
  if (Number.isInteger(x)) return x.toLocaleString("en");
  return x.toPrecision(3);
}
function fmtTime(t) { return (Math.round(t * 100) / 100).toString(); }
// " hours" / " hour"; nothing for a scenario that names no unit (the default "time unit")
function unitWord(t) {
  const u = S.data.scenario.unit;
  if (!u || u === "time unit") return "";
  return " " + u + (t === 1 || u.endsWith("s") ? "" : "s");
}
function people(agents) { return agents * S.data.scenario.people_per_agent; }
function scaled() { return S.data.scenario.people_per_agent !== 1; }

// ---------------------------------------------------------------- server

async function post(url, body) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                                body: JSON.stringify(body) });
  if (!r.ok) {
    let msg = r.statusText;
    try { msg = (await r.json()).error || msg; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return r;
}

function setBusy(on) {
  $("busy").hidden = !on;
  document.body.dataset.status = on ? "busy" : "ready";
}

function status(text, isError) {
  const el = $("status");
  el.textContent = text;
  el.className = isError ? "error" : "note";
}

// Compute the run for the current settings. keepFrame: continue from the current time
// (a click or a fired intervention) and check whether the past replayed identically.
async function compute(keepFrame) {
  const id = ++S.requests;
  setBusy(true);
  let data;
  try {
    data = await (await post("/api/run", S.settings)).json();
  } catch (e) {
    if (id === S.requests) { setBusy(false); status(e.message, true); }
    return false;
  }
  if (id !== S.requests) return false;  // a newer request superseded this one
  const old = S.data, oldFrames = S.frames, frame = S.frame;
  const sameNet = old && old.positions.length === data.positions.length &&
    old.edges.length === data.edges.length && old.layer === data.layer &&
    old.seed === data.seed && old.scenario.key === data.scenario.key && old.scenario.agents === data.scenario.agents;
  load(data, !sameNet);
  S.pastNote = "";
  if (keepFrame && oldFrames && sameNet) {
    S.frame = Math.min(frame, S.nFrames - 1);
    const n = S.frame * S.nAgents;  // frames strictly before now
    let same = true;
    for (let i = 0; i < n; i++) if (oldFrames[i] !== S.frames[i]) { same = false; break; }
    S.pastNote = same
      ? `Re-run with the same seed: the run before t = ${fmtTime(S.data.times[S.frame])} replayed exactly.`
      : `Re-run with the same seed from t = 0: the run before t = ${fmtTime(S.data.times[S.frame])} changed too ` +
        "(the kernel's random draws depend on the whole schedule); the same settings always give this run.";
  } else {
    S.frame = 0;
  }
  setBusy(false);
  fetchMeanfield(id);
  status(S.pastNote || `${data.scenario.agents.toLocaleString("en")} agents, ${data.times.length} report times; ` +
         `computed in ${data.timings.total_s.toFixed(2)} s`);
  render();
  return true;
}

// The mean-field curves come after the run is on screen (they may take seconds).
async function fetchMeanfield(id) {
  S.meanfieldNote = "Mean field: computing";
  S.meanfieldReady = false;
  $("curve-note").textContent = curveNote();
  let mf;
  try {
    mf = await (await post("/api/meanfield", S.settings)).json();
  } catch (e) {
    mf = { curves: null, note: `No mean-field curve: ${e.message}` };
  }
  if (id !== S.requests || !S.data) return;  // a newer run is on screen
  S.meanfieldNote = mf.note;
  const d = S.data;
  if (mf.curves) {
    for (const t of d.traits) for (const s of t.states) {
      const v = mf.curves[t.name] && mf.curves[t.name][s];
      if (v) d.curves[t.name][s].meanfield = d.times.map((tt) => interp(mf.times, v, tt));
    }
  }
  S.meanfieldReady = true;
  $("curve-note").textContent = curveNote();
  buildCurves();
  render();
}

function interp(xs, ys, x) {
  if (x <= xs[0]) return ys[0];
  let i = 1;
  while (i < xs.length - 1 && xs[i] < x) i++;
  if (x >= xs[i]) return ys[i];
  const f = (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
  return ys[i - 1] + f * (ys[i] - ys[i - 1]);
}

// ---------------------------------------------------------------- loading a run

function decodeFrames(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Int16Array(bytes.buffer);
}

function load(data, newNetwork) {
  S.data = data;
  S.nAgents = data.positions.length / 2;
  S.frames = decodeFrames(data.frames);
  S.nFrames = S.frames.length / S.nAgents;
  S.settings.seed = data.seed;
  $("seed").value = data.seed;
  $("title").textContent = data.scenario.name;
  $("description").textContent = data.scenario.description;
  if (S.trait >= data.traits.length) S.trait = 0;
  fillSelect($("trait"), data.traits.map((t) => t.name), S.trait);
  $("layer-box").hidden = data.layers.length < 2;
  fillSelect($("layer"), data.layers, data.layers.indexOf(data.layer));
  fillClickStates();
  buildInterventions();
  buildSliders();
  $("clear").hidden = !(S.settings.clicks.length || S.settings.fired.length);
  $("curve-note").textContent = curveNote();
  if (newNetwork || !S.edgeCanvas) buildNetwork();
  buildCurves();
}

function fillSelect(sel, names, index) {
  sel.innerHTML = "";
  names.forEach((n, i) => { const o = document.createElement("option"); o.value = i; o.textContent = n; sel.appendChild(o); });
  sel.selectedIndex = Math.max(0, index);
}

function fillClickStates() {
  const t = S.data.traits[S.trait];
  const keep = $("clickstate").dataset.trait === t.name ? $("clickstate").value : null;
  const sel = $("clickstate");
  sel.innerHTML = "";
  t.states.forEach((s) => { const o = document.createElement("option"); o.value = s; o.textContent = `${s} (${t.name})`; sel.appendChild(o); });
  sel.value = keep || t.click;
  sel.dataset.trait = t.name;
}

function curveNote() {
  const d = S.data;
  const unit = scaled() ? `people (1 agent = ${human(d.scenario.people_per_agent)} people)` : "agents";
  return `Thick line: this run (seed ${d.seed}). Band: 90 % of 20 runs with the same settings. ` +
         `${S.meanfieldNote || ""}. Numbers are ${unit}.`;
}

// ---------------------------------------------------------------- the network

function buildNetwork() {
  const cv = $("network"), W = cv.width, H = cv.height, pad = 14;
  const n = S.nAgents, pos = S.data.positions;
  S.px = new Float32Array(n); S.py = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    S.px[i] = pad + pos[2 * i] * (W - 2 * pad);
    S.py[i] = pad + pos[2 * i + 1] * (H - 2 * pad);
  }
  S.radius = Math.max(2.0, Math.min(9, 0.2 * Math.sqrt((W * H) / Math.max(n, 1))));
  const ec = document.createElement("canvas");
  ec.width = W; ec.height = H;
  const g = ec.getContext("2d");
  g.fillStyle = "#fff"; g.fillRect(0, 0, W, H);
  const e = S.data.edges, m = e.length / 2;
  g.strokeStyle = m > 20000 ? "rgba(60,60,60,0.10)" : "rgba(60,60,60,0.22)";
  g.lineWidth = 0.8;
  g.beginPath();
  for (let k = 0; k < m; k++) {
    const a = e[2 * k], b = e[2 * k + 1];
    g.moveTo(S.px[a], S.py[a]); g.lineTo(S.px[b], S.py[b]);
  }
  g.stroke();
  S.edgeCanvas = ec;
  S.byState = null;
}

function drawNetwork() {
  const ctx = $("network").getContext("2d");
  ctx.drawImage(S.edgeCanvas, 0, 0);
  const t = S.data.traits[S.trait], k = S.trait, joint = S.data.joint;
  const n = S.nAgents, base = S.frame * S.nAgents, r = S.radius, TWO_PI = 2 * Math.PI;
  const ns = t.states.length;
  if (!S.byState || S.byState.length !== ns || S.byState[0].length !== n) {
    S.byState = t.states.map(() => new Int32Array(n));
  }
  const fill = new Int32Array(ns);
  for (let i = 0; i < n; i++) {
    const s = joint[S.frames[base + i]][k];
    S.byState[s][fill[s]++] = i;
  }
  ctx.lineWidth = r > 3 ? 1 : 0.5;
  ctx.strokeStyle = "#000";
  for (let s = 0; s < ns; s++) {
    if (!fill[s]) continue;
    ctx.fillStyle = t.colors[s];
    ctx.beginPath();
    const idx = S.byState[s];
    for (let j = 0; j < fill[s]; j++) {
      const i = idx[j];
      ctx.moveTo(S.px[i] + r, S.py[i]);
      ctx.arc(S.px[i], S.py[i], r, 0, TWO_PI);
    }
    ctx.fill();
    if (r > 2.5) ctx.stroke();
  }
  S.counts = fill;
}

// ---------------------------------------------------------------- the curves

const CP = { l: 110, r: 24, t: 58, b: 62 };  // plot margins (px); the key sits in the top one

function curveX(t, W) { return CP.l + (t / S.data.scenario.until) * (W - CP.l - CP.r); }
function curveY(v, H) { return H - CP.b - (v / S.yMax) * (H - CP.t - CP.b); }

function niceStep(max, n) {
  const raw = max / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / p;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

// The static part (axes, bands, mean field, intervention marks) is drawn once per run
// and trait; a step copies it and draws the run up to now and the cursor.
function buildCurves() {
  const cv = $("curves"), W = cv.width, H = cv.height;
  const c = document.createElement("canvas");
  c.width = W; c.height = H;
  const g = c.getContext("2d");
  const d = S.data, t = d.traits[S.trait], cur = d.curves[t.name], times = d.times;
  let ymax = 1;
  for (const s of t.states) {
    const q = cur[s];
    for (const arr of [q.run, q.high, q.meanfield || []]) for (const v of arr) ymax = Math.max(ymax, v);
  }
  S.yMax = ymax * 1.05;
  g.fillStyle = "#fff"; g.fillRect(0, 0, W, H);
  // axes and ticks, in people when agents stand for more people
  g.strokeStyle = "#222"; g.lineWidth = 2; g.fillStyle = "#111";
  g.font = "18px system-ui, sans-serif";
  g.beginPath(); g.moveTo(CP.l, CP.t); g.lineTo(CP.l, H - CP.b); g.lineTo(W - CP.r, H - CP.b); g.stroke();
  const ystep = niceStep(people(S.yMax), 5);
  g.textAlign = "right"; g.textBaseline = "middle";
  g.lineWidth = 1; g.strokeStyle = "#ddd";
  for (let v = 0; v <= people(S.yMax) + 1e-9; v += ystep) {
    const y = curveY(v / d.scenario.people_per_agent, H);
    g.fillText(human(Math.round(v * 1e6) / 1e6), CP.l - 8, y);
    g.beginPath(); g.moveTo(CP.l + 1, y); g.lineTo(W - CP.r, y); g.stroke();
  }
  const tstep = niceStep(d.scenario.until, 8);
  g.textAlign = "center"; g.textBaseline = "top";
  for (let v = 0; v <= d.scenario.until + 1e-9; v += tstep) g.fillText(fmtTime(v), curveX(v, W), H - CP.b + 6);
  g.fillText(`time${unitWord(2) ? ` (${unitWord(2).trim()})` : ""}`, (CP.l + W - CP.r) / 2, H - 26);
  g.save(); g.translate(22, (CP.t + H - CP.b) / 2); g.rotate(-Math.PI / 2);
  g.fillText(scaled() ? "people" : "agents", 0, 0); g.restore();
  // intervention marks
  g.setLineDash([4, 5]); g.strokeStyle = "#777"; g.lineWidth = 1.5;
  g.textAlign = "left"; g.font = "15px system-ui, sans-serif"; g.fillStyle = "#444";
  for (const iv of d.marks) {
    const x = curveX(iv.at, W);
    g.beginPath(); g.moveTo(x, CP.t); g.lineTo(x, H - CP.b); g.stroke();
  }
  g.setLineDash([]);
  t.states.forEach((s, j) => {
    const q = cur[s], col = t.colors[j];
    // band: 5th-95th percentile of the replicates
    g.globalAlpha = 0.18; g.fillStyle = col; g.beginPath();
    times.forEach((tt, i) => { const x = curveX(tt, W), y = curveY(q.high[i], H); i ? g.lineTo(x, y) : g.moveTo(x, y); });
    for (let i = times.length - 1; i >= 0; i--) g.lineTo(curveX(times[i], W), curveY(q.low[i], H));
    g.closePath(); g.fill(); g.globalAlpha = 1;
    if (q.meanfield) {
      g.setLineDash([10, 7]); g.strokeStyle = col; g.lineWidth = 2.5; g.beginPath();
      times.forEach((tt, i) => { const x = curveX(tt, W), y = curveY(q.meanfield[i], H); i ? g.lineTo(x, y) : g.moveTo(x, y); });
      g.stroke(); g.setLineDash([]);
    }
  });
  // intervention labels, on a white halo so curves behind them stay readable
  g.font = "15px system-ui, sans-serif"; g.textAlign = "right"; g.textBaseline = "bottom";
  g.lineWidth = 4; g.strokeStyle = "#fff"; g.fillStyle = "#333";
  const byTime = new Map();  // interventions at the same time share one label
  for (const iv of d.marks) byTime.set(iv.at, [...(byTime.get(iv.at) || []), iv.label]);
  const room = H - CP.t - CP.b - 8;
  for (const [at, labels] of byTime) {
    g.save(); g.translate(curveX(at, W) - 3, CP.t + 4); g.rotate(-Math.PI / 2);
    let label = labels.join(" · ");
    while (label.length > 4 && g.measureText(label).width > room) label = label.slice(0, -2);
    if (label !== labels.join(" · ")) label += "…";
    g.strokeText(label, 0, 0); g.fillText(label, 0, 0); g.restore();
  }
  drawKey(g, t, W, t.states.some((s) => cur[s].meanfield));
  S.curveCanvas = c;
}

// The key, in the top margin: one swatch per state, then what line, band and dashes mean.
function drawKey(g, t, W, hasMeanfield) {
  let x = CP.l, y = 18;
  // an item that would cross the right edge starts a second line
  const place = (width) => { if (x + width > W - CP.r) { x = CP.l; y += 24; } const at = x; x += width; return at; };
  g.textAlign = "left"; g.textBaseline = "middle";
  g.font = "bold 18px system-ui, sans-serif";
  t.states.forEach((s, j) => {
    const at = place(44 + g.measureText(s).width);
    g.fillStyle = t.colors[j]; g.fillRect(at, y - 4, 26, 8);
    g.fillStyle = "#111"; g.fillText(s, at + 32, y);
  });
  g.font = "16px system-ui, sans-serif"; x += 12;
  g.strokeStyle = "#111"; g.fillStyle = "#111";
  let at = place(40 + g.measureText("this run").width);
  g.lineWidth = 4; g.beginPath(); g.moveTo(at, y); g.lineTo(at + 26, y); g.stroke();
  g.fillText("this run", at + 32, y);
  at = place(40 + g.measureText("90 % of 20 runs").width);
  g.globalAlpha = 0.25; g.fillRect(at, y - 8, 26, 16); g.globalAlpha = 1;
  g.fillText("90 % of 20 runs", at + 32, y);
  if (hasMeanfield) {
    at = place(40 + g.measureText("mean field").width);
    g.setLineDash([8, 5]); g.lineWidth = 2.5; g.beginPath(); g.moveTo(at, y); g.lineTo(at + 26, y); g.stroke();
    g.setLineDash([]); g.fillText("mean field", at + 32, y);
  }
}

function drawCurves() {
  const cv = $("curves"), W = cv.width, H = cv.height, ctx = cv.getContext("2d");
  ctx.drawImage(S.curveCanvas, 0, 0);
  const d = S.data, t = d.traits[S.trait], cur = d.curves[t.name], times = d.times;
  ctx.lineWidth = 4; ctx.lineJoin = "round";
  t.states.forEach((s, j) => {
    const run = cur[s].run;
    ctx.strokeStyle = t.colors[j]; ctx.beginPath();
    for (let i = 0; i <= S.frame; i++) { const x = curveX(times[i], W), y = curveY(run[i], H); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); }
    ctx.stroke();
  });
  const x = curveX(times[S.frame], W);
  ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(x, CP.t); ctx.lineTo(x, H - CP.b); ctx.stroke();
}

// ---------------------------------------------------------------- one step on screen

function render() {
  if (!S.data) return;
  const t0 = performance.now();
  drawNetwork();
  drawCurves();
  const d = S.data, t = d.traits[S.trait];
  $("clock").textContent = `t = ${fmtTime(d.times[S.frame])}${unitWord(d.times[S.frame])}`;
  const legend = $("legend");
  if (legend.childElementCount !== t.states.length) {
    legend.innerHTML = "";
    t.states.forEach((s, j) => {
      const el = document.createElement("span");
      el.innerHTML = `<span class="swatch" style="background:${t.colors[j]}"></span><b>${s}</b> <span class="n"></span>`;
      legend.appendChild(el);
    });
  }
  t.states.forEach((s, j) => {
    const n = S.counts[j];
    legend.children[j].querySelector(".n").textContent = scaled() ? `${human(people(n))} people (${n} agents)` : n.toLocaleString("en");
  });
  const ms = performance.now() - t0;
  const st = S.stats;
  st.renders++; st.lastMs = ms; st.maxMs = Math.max(st.maxMs, ms); st.totalMs += ms;
  (st.samples = st.samples || []).push(ms);
  if (st.samples.length > 1000) st.samples.shift();
  if (st.renders % 5 === 1) {
    $("perf").textContent = `${S.nAgents.toLocaleString("en")} agents: a step renders in ${ms.toFixed(1)} ms ` +
      `(mean ${(st.totalMs / st.renders).toFixed(1)} ms over ${st.renders})`;
  }
}

function step() {
  if (!S.data) return;
  if (S.frame < S.nFrames - 1) { S.frame++; render(); } else { pause(); }
}

function tick(now) {
  if (!S.playing) return;
  const dt = Math.min(now - (S.lastTick || now), 250);
  S.lastTick = now;
  S.acc += dt * S.fps / 1000;
  if (S.acc >= 1 && document.body.dataset.status !== "busy") {
    S.acc = Math.min(S.acc - 1, 1);
    step();
  }
  if (S.playing) requestAnimationFrame(tick);
}

function play() {
  if (!S.data) return;
  if (S.frame >= S.nFrames - 1) { S.frame = 0; render(); }
  S.playing = true; S.lastTick = 0; S.acc = 1;
  $("play").textContent = "⏸ Pause";
  requestAnimationFrame(tick);
}
function pause() { S.playing = false; $("play").textContent = "▶ Play"; }

// ---------------------------------------------------------------- panels

function buildInterventions() {
  const box = $("interventions");
  box.innerHTML = "";
  const ivs = S.data.interventions;
  if (!ivs.length) return;
  const head = document.createElement("span");
  head.textContent = "Fire now:"; head.style.fontWeight = "bold";
  box.appendChild(head);
  for (const iv of ivs) {
    const b = document.createElement("button");
    b.dataset.name = iv.name;
    b.textContent = iv.fired.length
      ? `${iv.label} (fired at ${iv.fired.map(fmtTime).join(", ")})` : `${iv.label} (planned t = ${fmtTime(iv.scheduled)})`;
    if (iv.fired.length) b.className = "fired";
    b.title = `${iv.kind}: happens now (brought forward if still to come, else once more) ` +
              "and the run is recomputed with the same seed";
    b.addEventListener("click", () => {
      S.settings.fired.push([iv.name, S.data.times[S.frame]]);
      compute(true);
    });
    box.appendChild(b);
  }
}

function sliderToValue(p, x) {
  if (p.scale === "log") return p.min * Math.pow(p.max / p.min, x / 1000);
  const v = p.min + (p.max - p.min) * x / 1000;
  return p.scale === "int" ? Math.round(v) : v;
}
function valueToSlider(p, v) {
  if (p.scale === "log") return 1000 * Math.log(v / p.min) / Math.log(p.max / p.min);
  return 1000 * (v - p.min) / (p.max - p.min);
}
function showValue(p, v) {
  if (p.scale === "int") return Math.round(v).toLocaleString("en");
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

function buildSliders() {
  const box = $("sliders");
  box.innerHTML = "";
  let group = null;
  for (const p of S.data.parameters) {
    if (p.group !== group) {
      group = p.group;
      const h = document.createElement("div"); h.className = "group"; h.textContent = group;
      box.appendChild(h);
    }
    const row = document.createElement("label");
    row.className = "slider" + (p.path in S.settings.params ? " changed" : "");
    const name = document.createElement("span"); name.textContent = p.label;
    const val = document.createElement("span"); val.className = "value"; val.textContent = showValue(p, p.value);
    const input = document.createElement("input");
    input.type = "range"; input.min = 0; input.max = 1000; input.step = 1;
    input.dataset.path = p.path;
    input.value = Math.round(valueToSlider(p, p.value));
    input.addEventListener("input", () => { val.textContent = showValue(p, sliderToValue(p, +input.value)); });
    input.addEventListener("change", () => {
      const v = sliderToValue(p, +input.value);
      S.settings.params[p.path] = p.scale === "log" ? +v.toPrecision(4) : (p.scale === "int" ? v : +v.toFixed(4));
      compute(false).then(() => { if (S.data) play(); });
    });
    row.append(name, val, input);
    box.appendChild(row);
  }
}

// ---------------------------------------------------------------- clicks, export

function nearestAgent(ev) {
  const cv = $("network"), rect = cv.getBoundingClientRect();
  const x = (ev.clientX - rect.left) * cv.width / rect.width;
  const y = (ev.clientY - rect.top) * cv.height / rect.height;
  let best = -1, bd = Infinity;
  for (let i = 0; i < S.nAgents; i++) {
    const d = (S.px[i] - x) ** 2 + (S.py[i] - y) ** 2;
    if (d < bd) { bd = d; best = i; }
  }
  return bd <= (3 * S.radius + 6) ** 2 ? best : -1;
}

async function exportScenario() {
  try {
    const r = await post("/api/export", S.settings);
    const m = /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "");
    const blob = new Blob([await r.text()], { type: "application/x-yaml" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = m ? m[1] : "scenario.yaml";
    document.body.appendChild(a); a.click(); a.remove();
    status(`Exported ${a.download}: \`rumorsim run ${a.download}\` reproduces this run (seed ${S.settings.seed}).`);
  } catch (e) { status(e.message, true); }
}

function newScenario(name) {
  pause();
  S.settings = { scenario: name, seed: 0, params: {}, clicks: [], fired: [], layer: null };
  S.trait = 0; S.data = null; S.edgeCanvas = null;
  const first = S.scenarios.find((s) => s.name === name);
  S.settings.seed = first && first.seed !== undefined ? first.seed : 0;
  return compute(false);
}

function wire() {
  $("play").addEventListener("click", () => (S.playing ? pause() : play()));
  $("step").addEventListener("click", () => { pause(); step(); });
  $("speed").addEventListener("input", () => { S.fps = +$("speed").value; $("speed-value").textContent = S.fps; });
  $("reset").addEventListener("click", () => { pause(); compute(false); });
  $("newseed").addEventListener("click", () => {
    pause(); S.settings.seed = Math.floor(Math.random() * 100000); compute(false);
  });
  $("seed").addEventListener("change", () => {
    const v = parseInt($("seed").value, 10);
    if (Number.isFinite(v) && v >= 0) { pause(); S.settings.seed = v; compute(false); }
  });
  $("trait").addEventListener("change", () => {
    S.trait = +$("trait").value; S.byState = null; $("legend").innerHTML = "";
    fillClickStates(); buildCurves(); render();
  });
  $("layer").addEventListener("change", () => {
    S.settings.layer = S.data.layers[+$("layer").value]; compute(true);
  });
  $("scenario").addEventListener("change", () => newScenario($("scenario").value));
  $("clear").addEventListener("click", () => { S.settings.clicks = []; S.settings.fired = []; compute(true); });
  $("network").addEventListener("click", (ev) => {
    if (!S.data) return;
    const i = nearestAgent(ev);
    if (i < 0) return;
    const t = S.data.traits[S.trait];
    S.settings.clicks.push({ agent: i, trait: t.name, state: $("clickstate").value, at: S.data.times[S.frame] });
    compute(true);
  });
  $("export").addEventListener("click", exportScenario);
  document.addEventListener("keydown", (ev) => {
    if (ev.target.tagName === "INPUT" || ev.target.tagName === "SELECT") return;
    if (ev.code === "Space") { ev.preventDefault(); S.playing ? pause() : play(); }
    if (ev.code === "ArrowRight") { pause(); step(); }
  });
}

async function start() {
  wire();
  try {
    const r = await fetch("/api/scenarios");
    const j = await r.json();
    if (!r.ok) throw new Error(j.error || r.statusText);
    S.scenarios = j.scenarios;
    const sel = $("scenario");
    for (const s of j.scenarios) {
      const o = document.createElement("option"); o.value = s.name; o.textContent = s.title; sel.appendChild(o);
    }
    sel.value = j.default;
    await newScenario(j.default);
  } catch (e) { status(e.message, true); document.body.dataset.status = "error"; }
}

start();
