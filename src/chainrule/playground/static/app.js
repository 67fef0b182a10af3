// chainrule playground: draws what the server computes (every number comes from chainrule).
// The settings live in the URL's fragment, so a link reproduces the setup.
"use strict";

const EXTENT = 6;
const CLASS_COLORS = [[245, 147, 34], [8, 119, 189], [46, 155, 78], [142, 68, 173], [192, 57, 43]];
const NEUTRAL = [232, 234, 235];
const DATASETS = {
  classification: [["circle", "Circle"], ["xor", "Exclusive or"], ["gauss", "Gaussian"],
                   ["spiral", "Spiral"]],
  regression: [["plane", "Plane"], ["multigauss", "Multi Gaussian"]],
};
const FEATURES = [["x1", "X\u2081"], ["x2", "X\u2082"], ["x1sq", "X\u2081\u00b2"],
                  ["x2sq", "X\u2082\u00b2"], ["x1x2", "X\u2081X\u2082"],
                  ["sinx1", "sin(X\u2081)"], ["sinx2", "sin(X\u2082)"]];
const LIST_PARAMS = ["features", "hidden"];
const NUMBER_PARAMS = ["classes", "points", "noise", "train_ratio", "batch", "lr", "reg_rate",
                       "seed", "resolution"];
const MAX_LAYERS = 8, MAX_NEURONS = 8;

const $ = (id) => document.getElementById(id);
let session = null;      // {id, config, data, data_version}
let frame = null;        // the latest frame
let socket = null;
let drawPending = false;
let networkLayout = null;
let edgeMode = "weights";
const featurePictures = {};

// ---- talking to the server -----------------------------------------------------------------
function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const isJson = (response.headers.get("content-type") || "").includes("json");
  const body = isJson ? await response.json() : await response.text();
  if (!response.ok) {
    const message = (isJson && body.error) || `the server answered ${response.status}`;
    if (response.status === 404 && session && path.startsWith(`/api/sessions/${session.id}`)) {
      await startSession(session.config);  // expired: start again with the same settings
    }
    throw new Error(message);
  }
  return body;
}

function post(path, body, type = "application/json") {
  return api(path, {method: "POST", headers: {"Content-Type": type},
                    body: typeof body === "string" ? body : JSON.stringify(body || {})});
}

async function run(task) {
  try {
    const result = await task();
    showError("");
    return result;
  } catch (e) {
    showError(e.message);
    return null;
  }
}

function adopt(state) {
  const newData = !session || session.data_version !== state.data_version ||
    session.id !== state.id;
  session = state;
  if (newData) session.data = state.data;
  writeUrl(state.config);
  showSettings(state.config);
  setFrame(state.frame);
  document.title = "chainrule playground";
}

async function startSession(params) {
  let state;
  try {
    state = await post("/api/sessions", params);
  } catch (e) {
    showError(`${e.message} (the settings in the link were not used)`);
    state = await post("/api/sessions", {});
  }
  adopt(state);
  connect();
}

function connect() {
  if (socket) socket.close();
  const ws = new WebSocket(`ws://${location.host}/api/sessions/${session.id}/stream`);
  socket = ws;
  ws.onmessage = (event) => setFrame(JSON.parse(event.data));
  ws.onclose = () => {
    if (socket !== ws) return;
    setTimeout(async () => {
      if (socket !== ws) return;
      try {
        await refreshData();  // a session that expired is started again by api()
        connect();
      } catch (e) {
        if (socket === ws) setTimeout(() => ws.onclose(), 2000);  // the server is away
      }
    }, 1000);
  };
}

async function refreshData() {
  const state = await api(`/api/sessions/${session.id}`);
  adopt(state);
}

function setFrame(f) {
  frame = f;
  if (session && f.data_version !== session.data_version) {
    session.data_version = f.data_version;
    refreshData();
  }
  if (!drawPending) {
    drawPending = true;
    requestAnimationFrame(() => { drawPending = false; draw(); });
  }
}

async function changeConfig(params) {
  await run(async () => adopt(await post(`/api/sessions/${session.id}/config`, params)));
}

async function action(name) {
  await run(async () => adopt(await post(`/api/sessions/${session.id}/${name}`)));
}

// ---- the URL ---------------------------------------------------------------------------------
function readUrl() {
  const params = {};
  const hash = location.hash.replace(/^#/, "");
  if (!hash) return params;
  for (const part of hash.split("&")) {
    const [key, raw] = part.split("=");
    if (!key) continue;
    const value = decodeURIComponent(raw || "");
    if (LIST_PARAMS.includes(key)) {
      params[key] = value === "" ? [] : value.split(",").map((v) => key === "hidden" ? Number(v) : v);
    } else if (NUMBER_PARAMS.includes(key)) {
      params[key] = Number(value);
    } else {
      params[key] = value;
    }
  }
  if (params.dataset === "custom") {  // uploaded points are not in the link
    for (const key of ["dataset", "classes", "points"]) delete params[key];
    setTimeout(() => showError("the link's data was uploaded; upload the CSV again"), 0);
  }
  return params;
}

function writeUrl(config) {
  const keys = ["problem", "dataset", "classes", "points", "noise", "train_ratio", "batch",
                "features", "hidden", "activation", "lr", "regularization", "reg_rate",
                "optimizer", "init", "seed", "resolution"];
  const hash = keys.map((k) => `${k}=${Array.isArray(config[k]) ? config[k].join(",") : config[k]}`)
    .join("&");
  history.replaceState(null, "", `#${hash}`);
}

// ---- settings ----------------------------------------------------------------------------
function showSettings(config) {
  for (const el of document.querySelectorAll("[data-param]")) {
    const value = config[el.dataset.param];
    if (el.tagName === "SELECT" && ![...el.options].some((o) => o.value === String(value))) {
      el.add(new Option(String(value)));
    }
    el.value = String(value);
    const label = $(`${el.id}-value`);
    if (label) label.textContent = value;
  }
  $("classes-row").hidden = !(config.dataset === "spiral" ||
                              (config.custom && config.problem === "classification"));
  $("classes").disabled = config.custom;
  const box = $("datasets");
  box.textContent = "";
  for (const [name, title] of DATASETS[config.problem]) {
    const b = document.createElement("button");
    b.id = `dataset-${name}`;
    b.textContent = title;
    b.className = config.dataset === name ? "selected" : "";
    b.onclick = () => changeConfig({dataset: name, classes: name === "spiral" ? config.classes : 2});
    box.appendChild(b);
  }
  $("data-note").textContent = config.custom
    ? `your uploaded data: ${config.points} points` +
      (config.problem === "classification" ? `, ${config.classes} classes` : "") : "";
  $("regenerate").disabled = config.custom;
  $("layers-count").textContent = config.hidden.length;
  $("export-weights").href = `/api/sessions/${session.id}/export/weights`;
  $("export-script").href = `/api/sessions/${session.id}/export/script`;
}

function wireControls() {
  for (const el of document.querySelectorAll("[data-param]")) {
    const read = () => el.dataset.type === "number" ? Number(el.value) : el.value;
    const label = $(`${el.id}-value`);
    if (el.type === "range" && label) el.oninput = () => { label.textContent = el.value; };
    el.onchange = () => {
      const params = {[el.dataset.param]: read()};
      if (el.dataset.param === "problem") {
        params.dataset = DATASETS[read()][0][0];
        params.classes = 2;
      }
      changeConfig(params);
    };
  }
  $("play").onclick = () => action(frame && frame.playing ? "pause" : "play");
  $("step").onclick = () => action("step");
  $("reset").onclick = () => action("reset");
  $("regenerate").onclick = () => action("regenerate");
  $("layers-add").onclick = () => {
    const hidden = session.config.hidden;
    if (hidden.length < MAX_LAYERS) changeConfig({hidden: [...hidden, hidden.length ? hidden[hidden.length - 1] : 2]});
  };
  $("layers-remove").onclick = () => {
    const hidden = session.config.hidden;
    if (hidden.length) changeConfig({hidden: hidden.slice(0, -1)});
  };
  for (const radio of document.querySelectorAll("input[name=edges]")) {
    radio.onchange = () => { edgeMode = radio.value; draw(); };
  }
  $("show-test").onchange = () => draw();
  $("upload").onchange = async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (!file) return;
    if (file.size > 256 * 1024) {
      showError(`the CSV is ${file.size} bytes; the limit is 262144`);
      return;
    }
    const text = await file.text();
    await run(async () => adopt(await post(`/api/sessions/${session.id}/upload`, text, "text/csv")));
  };
  $("heatmap").onclick = (event) => explainAt(event);
  $("network").onclick = (event) => toggleFeature(event);
}

// ---- drawing -------------------------------------------------------------------------------
function decode(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function mix(a, b, t) {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

// a value in [-1, 1] (byte 0..255): orange below 0, blue above
function diverging(byte) {
  const v = byte / 127.5 - 1;
  return v < 0 ? mix(NEUTRAL, CLASS_COLORS[0], -v) : mix(NEUTRAL, CLASS_COLORS[1], v);
}

function paintGrid(ctx, res, colorOf, x, y, size) {
  const img = new ImageData(res, res);
  for (let i = 0; i < res * res; i++) {
    const c = colorOf(i);
    img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2];
    img.data[4 * i + 3] = 255;
  }
  const tmp = document.createElement("canvas");
  tmp.width = res; tmp.height = res;
  tmp.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(tmp, x, y, size, size);
}

function heatColors(heat) {
  if (heat.classes) {
    const cls = decode(heat.classes), conf = decode(heat.confidence);
    const k = session.config.classes;
    return (i) => mix(NEUTRAL, CLASS_COLORS[cls[i]], Math.max(0, (conf[i] / 255 - 1 / k) / (1 - 1 / k)) * 0.8);
  }
  const values = decode(heat.values);
  return (i) => diverging(values[i]);
}

function pointColor(target) {
  if (session.config.problem === "regression") {
    return diverging(Math.round((Math.max(-1, Math.min(1, target)) + 1) * 127.5));
  }
  return CLASS_COLORS[session.config.classes > 2 ? target : target === 1 ? 1 : 0];
}

function toCanvas(x, y, size) {
  return [(x + EXTENT) / (2 * EXTENT) * size, (EXTENT - y) / (2 * EXTENT) * size];
}

function drawHeatmap() {
  const canvas = $("heatmap"), ctx = canvas.getContext("2d"), size = canvas.width;
  paintGrid(ctx, frame.heat.res, heatColors(frame.heat), 0, 0, size);
  const data = session.data, showTest = $("show-test").checked;
  for (let i = 0; i < data.x.length; i++) {
    if (!data.train[i] && !showTest) continue;
    const [px, py] = toCanvas(data.x[i][0], data.x[i][1], size);
    const c = pointColor(data.target[i]);
    ctx.beginPath();
    ctx.arc(px, py, 3, 0, 2 * Math.PI);
    ctx.fillStyle = `rgb(${c[0]},${c[1]},${c[2]})`;
    ctx.fill();
    ctx.lineWidth = 1;
    ctx.strokeStyle = data.train[i] ? "#fff" : "#000";
    ctx.stroke();
  }
}

function drawLines(canvas, series, colors, {log = false} = {}) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const t = (v) => (v === null || v === undefined || !(log ? v > 0 : isFinite(v))) ? null : log ? Math.log10(v) : v;
  const all = series.flat().map(t).filter((v) => v !== null);
  if (!all.length) return;
  let lo = log ? Math.min(...all) : 0, hi = Math.max(...all);
  if (hi - lo < 1e-12) { hi += 1; lo -= log ? 1 : 0; }
  series.forEach((values, s) => {
    ctx.beginPath();
    ctx.strokeStyle = colors[s];
    ctx.lineWidth = 1.5;
    let started = false;
    values.forEach((v, i) => {
      const tv = t(v);
      if (tv === null) { started = false; return; }
      const x = values.length > 1 ? i / (values.length - 1) * (w - 4) + 2 : w / 2;
      const y = h - 3 - (tv - lo) / (hi - lo) * (h - 6);
      if (started) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      started = true;
    });
    ctx.stroke();
  });
  if (log) {
    ctx.fillStyle = "#777";
    ctx.font = "10px sans-serif";
    ctx.fillText(`1e${Math.round(hi)}`, 2, 10);
    ctx.fillText(`1e${Math.round(lo)}`, 2, h - 4);
  }
}

function layerColor(i, n) {
  const t = n > 1 ? i / (n - 1) : 1;
  const c = mix([245, 147, 34], [8, 119, 189], t);
  return `rgb(${c.map(Math.round).join(",")})`;
}

function drawGradChart() {
  const norms = frame.grad_norms;
  const n = norms.layers.length;
  const series = norms.layers.map((_, l) => norms.values.map((row) => row[l]));
  drawLines($("grad-chart"), series, norms.layers.map((_, l) => layerColor(l, n)), {log: true});
  const ctx = $("grad-chart").getContext("2d");
  ctx.font = "10px sans-serif";
  norms.layers.forEach((name, l) => {
    ctx.fillStyle = layerColor(l, n);
    ctx.fillText(l === 0 ? "layer 1" : l === n - 1 ? `layer ${n} (output)` : "", l === 0 ? 40 : 200, 10 + (l === 0 ? 0 : 0));
  });
  const v = frame.verdict, box = $("verdict");
  box.className = `verdict ${v.kind}`;
  box.innerHTML = "";
  const title = document.createElement("div");
  title.innerHTML = `<b>GradientFlow: ${v.kind}</b> \u2014 `;
  title.appendChild(document.createTextNode(v.message));
  box.appendChild(title);
  if (v.fix) {
    const fix = document.createElement("div");
    fix.className = "fix";
    fix.textContent = v.fix;
    box.appendChild(fix);
  }
}

function featureColors(name, res) {
  const f = {x1: (a) => a / EXTENT, x2: (a, b) => b / EXTENT, x1sq: (a) => a * a / 18 - 1,
             x2sq: (a, b) => b * b / 18 - 1, x1x2: (a, b) => a * b / 18,
             sinx1: (a) => Math.sin(a), sinx2: (a, b) => Math.sin(b)}[name];
  return (i) => {
    const row = Math.floor(i / res), col = i % res;
    const a = (col + 0.5) / res * 2 * EXTENT - EXTENT, b = EXTENT - (row + 0.5) / res * 2 * EXTENT;
    return diverging(Math.round((Math.max(-1, Math.min(1, f(a, b))) + 1) * 127.5));
  };
}

function layout(canvas) {
  const cfg = session.config, features = cfg.features;
  const columns = [FEATURES.map(([n]) => n), ...cfg.hidden.map((n) => Array(n).fill(0)),
                   Array(frame.weights[frame.weights.length - 1].w.length).fill(0)];
  const box = 30, w = canvas.width, h = canvas.height;
  const xs = columns.map((_, c) => 40 + c * (w - 80 - box) / Math.max(1, columns.length - 1));
  const nodes = columns.map((col, c) => col.map((_, j) => {
    const gap = Math.min(46, (h - 20) / Math.max(col.length, 1));
    const y0 = (h - gap * col.length) / 2;
    return {x: xs[c], y: y0 + j * gap + (gap - box) / 2, size: box};
  }));
  return {columns, nodes, box, active: FEATURES.map(([n]) => features.includes(n))};
}

function drawNetwork() {
  const canvas = $("network"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const L = layout(canvas);
  networkLayout = L;
  const matrices = frame.weights.map((l) => l.w);
  const grads = frame.grads;
  const useGrads = edgeMode === "grads" && grads.every((g) => g !== null);
  const values = useGrads ? grads : matrices;
  let scale = 1;
  if (useGrads) {  // one scale for the whole network: a vanishing gradient looks thin
    scale = Math.max(1e-30, ...grads.flat(2).map(Math.abs));
  }
  const activeInputs = L.nodes[0].filter((_, i) => L.active[i]);
  const sources = [activeInputs, ...L.nodes.slice(1)];
  values.forEach((m, l) => {
    m.forEach((row, j) => row.forEach((v, i) => {
      const a = sources[l][i], b = L.nodes[l + 1][j];
      if (!a || !b) return;
      const size = useGrads ? Math.abs(v) / scale * 6 : Math.min(6, Math.abs(v) * 1.5);
      if (size < 0.05) return;
      ctx.beginPath();
      ctx.strokeStyle = v >= 0 ? "rgba(8,119,189,.8)" : "rgba(245,147,34,.8)";
      ctx.lineWidth = size;
      ctx.moveTo(a.x + L.box, a.y + L.box / 2);
      ctx.lineTo(b.x, b.y + L.box / 2);
      ctx.stroke();
    }));
  });
  const tres = frame.neurons.res;
  L.nodes[0].forEach((node, i) => {
    const name = FEATURES[i][0];
    ctx.globalAlpha = L.active[i] ? 1 : 0.25;
    if (!featurePictures[name]) {  // they never change: painted once
      const picture = document.createElement("canvas");
      picture.width = picture.height = L.box;
      paintGrid(picture.getContext("2d"), 12, featureColors(name, 12), 0, 0, L.box);
      featurePictures[name] = picture;
    }
    ctx.drawImage(featurePictures[name], node.x, node.y);
    ctx.globalAlpha = 1;
    ctx.fillStyle = "#333";
    ctx.font = "11px sans-serif";
    ctx.textAlign = "right";
    ctx.fillText(FEATURES[i][1], node.x - 4, node.y + L.box / 2 + 4);
    ctx.textAlign = "left";
  });
  frame.neurons.layers.forEach((layer, l) => layer.forEach((b64, j) => {
    const node = L.nodes[l + 1][j];
    const bytes = decode(b64);
    paintGrid(ctx, tres, (i) => diverging(bytes[i]), node.x, node.y, L.box);
  }));
  const multiclass = frame.neurons.output.length > 1;
  L.nodes[L.nodes.length - 1].forEach((node, k) => {
    const bytes = decode(frame.neurons.output[k]);
    // a class's probability in its own colour; one output: orange to blue
    const color = multiclass ? (i) => mix(NEUTRAL, CLASS_COLORS[k], bytes[i] / 255)
      : (i) => diverging(bytes[i]);
    paintGrid(ctx, tres, color, node.x, node.y, L.box);
  });
  for (const col of L.nodes) for (const node of col) {
    ctx.strokeStyle = "#999"; ctx.lineWidth = 1;
    ctx.strokeRect(node.x, node.y, L.box, L.box);
  }
  drawNeuronButtons(L, canvas);
}

function drawNeuronButtons(L, canvas) {
  const box = $("neuron-buttons");
  const key = session.config.hidden.join(",") + "|" + canvas.clientWidth;
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.textContent = "";
  const ratio = canvas.clientWidth / canvas.width;
  session.config.hidden.forEach((n, l) => {
    const div = document.createElement("div");
    div.style.left = `${(L.nodes[l + 1][0].x + L.box / 2) * ratio}px`;
    const plus = document.createElement("button"), minus = document.createElement("button");
    plus.textContent = "+"; minus.textContent = "\u2212";
    plus.className = "neuron-add"; minus.className = "neuron-remove";
    plus.onclick = () => { if (n < MAX_NEURONS) changeConfig({hidden: session.config.hidden.map((v, i) => i === l ? v + 1 : v)}); };
    minus.onclick = () => { if (n > 1) changeConfig({hidden: session.config.hidden.map((v, i) => i === l ? v - 1 : v)}); };
    div.append(plus, minus, document.createTextNode(` ${n}`));
    box.appendChild(div);
  });
}

function toggleFeature(event) {
  if (!networkLayout) return;
  const canvas = $("network"), rect = canvas.getBoundingClientRect();
  const x = (event.clientX - rect.left) * canvas.width / rect.width;
  const y = (event.clientY - rect.top) * canvas.height / rect.height;
  networkLayout.nodes[0].forEach((node, i) => {
    if (x >= node.x && x <= node.x + node.size && y >= node.y && y <= node.y + node.size) {
      const name = FEATURES[i][0], features = session.config.features;
      const next = features.includes(name) ? features.filter((f) => f !== name) : [...features, name];
      changeConfig({features: next});
    }
  });
}

function fmt(v) {
  if (v === null || v === undefined) return "-";
  return Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(3) : v.toExponential(2);
}

// a frame from before the last settings change (still on its way) is not drawn
function matchesSettings(f, config) {
  const sizes = f.weights.map((layer) => layer.w.length);
  return sizes.length === config.hidden.length + 1 &&
    config.hidden.every((n, l) => sizes[l] === n) &&
    f.weights[0].w[0].length === config.features.length;
}

function draw() {
  if (!frame || !session || !session.data || !matchesSettings(frame, session.config)) return;
  $("epoch").textContent = String(frame.epoch).padStart(6, "0").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  $("train-loss").textContent = fmt(frame.train_loss);
  $("test-loss").textContent = fmt(frame.test_loss);
  $("play").classList.toggle("playing", frame.playing);
  $("play").innerHTML = frame.playing ? "&#10074;&#10074;" : "&#9654;";
  drawLines($("loss-chart"), [frame.history.train, frame.history.test], ["#777", "#0877bd"]);
  const chart = $("loss-chart").getContext("2d");
  chart.font = "10px sans-serif";
  chart.fillStyle = "#0877bd"; chart.fillText("test", 270, 12);
  chart.fillStyle = "#777"; chart.fillText("training", 270, 24);
  drawHeatmap();
  drawGradChart();
  drawNetwork();
}

// ---- one point, explained ---------------------------------------------------------------------
async function explainAt(event) {
  const canvas = $("heatmap"), rect = canvas.getBoundingClientRect();
  const x = (event.clientX - rect.left) * canvas.width / rect.width;
  const y = (event.clientY - rect.top) * canvas.height / rect.height;
  const data = session.data, showTest = $("show-test").checked;
  let best = -1, bestDist = 100;
  data.x.forEach((p, i) => {
    if (!data.train[i] && !showTest) return;
    const [px, py] = toCanvas(p[0], p[1], canvas.width);
    const d = (px - x) ** 2 + (py - y) ** 2;
    if (d < bestDist) { best = i; bestDist = d; }
  });
  if (best < 0) return;
  const result = await run(() => api(`/api/sessions/${session.id}/explain?index=${best}`));
  if (result) showExplanation(result);
}

// null: a NaN or infinity (JSON has neither)
const precise = (x, digits) => x === null ? "NaN" : x.toPrecision(digits);

function numbers(v) {
  if (v === null || v === undefined) return "-";
  if (Array.isArray(v)) return `[${v.map((x) => precise(x, 4)).join(", ")}]`;
  return `shape ${v.shape.join("\u00d7")}: norm ${precise(v.norm, 4)}, mean ${precise(v.mean, 3)}, ` +
    `min ${precise(v.min, 3)}, max ${precise(v.max, 3)}`;
}

function showExplanation(e) {
  const box = $("explain");
  box.hidden = false;
  box.textContent = "";
  const close = document.createElement("span");
  close.className = "close"; close.textContent = "\u00d7";
  close.onclick = () => { box.hidden = true; };
  const head = document.createElement("h3");
  head.textContent = `Point #${e.index} (${e.split}) at (${e.x.map((v) => v.toFixed(2)).join(", ")}), ` +
    `target ${numbers(e.target)}: loss ${precise(e.loss, 4)}. Backward pass from ` +
    `cr.inspect.explain` + (e.summarised ? " (a large network: one row per layer)" : "");
  const table = document.createElement("table");
  table.innerHTML = "<tr><th>tensor</th><th>op</th><th>expression</th><th>forward value</th><th>gradient dL/d(tensor)</th></tr>";
  for (const s of e.steps) {
    const tr = document.createElement("tr");
    for (const text of [s.name, s.op, s.expression, numbers(s.value), numbers(s.grad)]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    table.appendChild(tr);
  }
  const grads = document.createElement("table");
  grads.innerHTML = "<tr><th>parameter</th><th>gradient from this point</th></tr>";
  for (const [name, g] of Object.entries(e.grads)) {
    const tr = document.createElement("tr");
    for (const text of [name, numbers(g)]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    grads.appendChild(tr);
  }
  box.append(close, head, table, grads);
  if (e.text) {
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "the chain rule, step by step (str(explain(loss)))";
    const pre = document.createElement("pre");
    pre.textContent = e.text;
    details.append(summary, pre);
    box.appendChild(details);
  }
  box.scrollIntoView({behavior: "smooth", block: "nearest"});
}

wireControls();
startSession(readUrl());
