// The training player of lossviz/ui/components/player.py (Streamlit Custom Components v2).
//
// One component, two roles. A *player* (mounted with a key, once per script run) draws a
// shared training run: the evaluation points of each run on a canvas, their step, loss,
// spread and collapsed badge, each run's triplet diagram (every valid triplet of its first
// evaluation points at (d(a,p), d(a,n)), the lines d(a,n) = d(a,p) and d(a,n) = d(a,p) + m
// and the easy / semi-hard / hard bands), and the loss / spread / kind-share curves, and
// plays the recorded frames in the browser (play, pause, step, restart, scrub, speed). A *feed*
// (mounted without a key, while the server is still computing the run) carries the next
// frames to the player with the same `player` name and renders nothing: the player itself
// is never remounted, so it never flickers and keeps its place while frames arrive.
//
// Playback is local to this browser: pausing, stepping or scrubbing here never reaches
// the server or anyone else watching the same run. Between two recorded frames the points
// glide linearly; the read-outs and the triplet diagrams show the last recorded frame
// reached.
//
// For a screen reader, a polite live region (role="status", visually hidden) says where
// playback stands, in the read-outs' and badges' own words ("Step 120 of 300. Batch-hard
// (classic): loss 0.2000, collapsed. ..."), when the step changes by the step buttons or
// keys or Back to step 0, when a scrub ends, when playback is paused and when it reaches
// the end; never while it plays (an announcement per frame would drown everything else).
// Under `prefers-reduced-motion: reduce` (asked at each Play and each animation frame)
// Play jumps to the last frame received, and then to each newer one as it arrives, with
// no glide between frames; at the end it stops and says so.
//
// Streamlit calls the default export again on every data change; the cleanup it returns
// runs on unmount. Player state lives in a module-level map keyed by the player's name
// (it outlives a remount); the DOM is built once per parentElement.

import { themeColors } from "./theme.js";

const RECORDS_PER_SECOND = 12; // playback at 1x: 60 recorded frames take 5 s
const SPEEDS = [0.5, 1, 2, 4];
const DOT = 3.6;
const PAD = 0.06; // of the run's span, around the points
const CURVE = { left: 46, right: 10, top: 22, bottom: 24 };
// The triplet diagram's canvas: its square plot inside these margins (px).
const DIAGRAM = { left: 40, right: 10, top: 24, bottom: 38 };
const DIAGRAM_MIN = 280; // px: the narrowest diagram (and points) drawn side by side
const DENSITY_LEVELS = 254; // lossviz/training/frame_codec.py's encode_density
const SCRUB_ANNOUNCE_MS = 500; // a scrub is announced once it rests this long

const players = new Map(); // player name -> state
const views = new WeakMap(); // parentElement -> view

export default function (component) {
  const { parentElement } = component;
  const data = parse(component.data);
  if (!data) return undefined;
  if (data.role === "feed") {
    feed(data);
    return undefined;
  }
  const player = playerFor(data.player);
  let view = views.get(parentElement);
  if (!view) {
    view = buildView(parentElement, player);
    views.set(parentElement, view);
  }
  player.view = view;
  receive(player, data);
  return () => {
    setTimeout(() => {
      if (view.root.isConnected) return;
      view.resizeObserver.disconnect();
      if (player.view === view) player.view = null;
      views.delete(parentElement);
    }, 200);
  };
}

// lossviz sends its data as JSON bytes (lossviz/ui/components/wire.py): a Uint8Array here.
function parse(raw) {
  return raw instanceof Uint8Array ? JSON.parse(new TextDecoder().decode(raw)) : raw;
}

// ---------------------------------------------------------------- state and data

function playerFor(name) {
  let player = players.get(name);
  if (!player) {
    player = {
      name, runId: null, meta: null, frames: [], finished: false, pos: 0, playing: false,
      speed: 1, lastPlay: 0, pendingFeeds: [], view: null, raf: 0, lastTick: 0,
      spans: null, curves: null, scrubTimer: 0,
    };
    players.set(name, player);
  }
  return player;
}

function receive(player, data) {
  if (data.run !== player.runId) {
    player.runId = data.run;
    player.frames = [];
    player.finished = false;
    player.pos = 0;
    player.playing = false;
  }
  // Frame, cursor and text in the theme's colours (a theme change calls this again); on a
  // dark page the dots get a light rim, so that the darkest classes (indigo) stand out.
  const theme = player.view ? themeColors(player.view.root) : null;
  player.meta = theme
    ? { ...data.meta, text_color: theme.muted, frame_color: theme.frame, cursor_color: theme.muted,
        rim_color: theme.dark ? theme.frame : data.meta.rim_color, ink_color: theme.text,
        background_color: theme.background }
    : data.meta;
  if (player.view) player.view.root.dataset.textColor = player.meta.text_color;
  player.note = data.note || "";
  player.preview = Boolean(data.preview);
  player.finished = Boolean(data.finished);
  merge(player, data.start, data.frames, false);
  const queued = player.pendingFeeds.filter((f) => f.run === player.runId);
  player.pendingFeeds = [];
  for (const f of queued) merge(player, f.start, f.frames, f.finished);
  if (data.play > player.lastPlay) {
    player.lastPlay = data.play;
    if (player.pos >= player.frames.length - 1 && player.finished) player.pos = 0;
    setPlaying(player, true);
  }
  layout(player);
  paint(player);
}

function feed(data) {
  const player = players.get(data.player);
  if (!player || player.runId !== data.run) {
    // The player's own data has not arrived yet (messages can be applied in either order).
    playerFor(data.player).pendingFeeds.push(data);
    return;
  }
  merge(player, data.start, data.frames, data.finished);
  invalidate(player);
  paint(player);
  if (player.playing) schedule(player);
}

// Frames carry their index (`start` + position): merging is idempotent and in any order.
function merge(player, start, frames, finished) {
  frames.forEach((frame, offset) => {
    const index = start + offset;
    if (index >= player.frames.length || !player.frames[index]) {
      player.frames[index] = decodeFrame(frame);
    }
  });
  player.finished = player.finished || Boolean(finished);
  invalidate(player);
}

function invalidate(player) {
  player.spans = null;
  player.curves = null;
}

function decodeFrame(frame) {
  return {
    step: frame.step,
    runs: frame.runs.map((run) => ({
      ...run,
      xy: decodePoints(run.box, run.q),
      density: run.diagram ? decodeDensity(run.diagram) : null,
    })),
  };
}

// The inverse of lossviz/training/frame_codec.py's encode_points: uint16 pairs inside the box.
export function decodePoints(box, q) {
  const bytes = Uint8Array.from(atob(q), (c) => c.charCodeAt(0));
  const view = new DataView(bytes.buffer);
  const n = bytes.length / 2;
  const out = new Float64Array(n);
  const [x0, y0, x1, y1] = box;
  const w = [x1 - x0, y1 - y0];
  const lo = [x0, y0];
  for (let i = 0; i < n; i++) {
    const axis = i % 2;
    out[i] = lo[axis] + (view.getUint16(2 * i, true) / 65535) * w[axis];
  }
  return out;
}

// The inverse of frame_codec.py's encode_density: one byte per cell, row-major (d(a,p) bin
// i, d(a,n) bin j at i * bins + j), 0 for none, else total ** ((code - 1) / 254) triplets.
export function decodeDensity(diagram) {
  const codes = Uint8Array.from(atob(diagram.c), (c) => c.charCodeAt(0));
  const out = new Float64Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    out[i] = codes[i] ? diagram.total ** ((codes[i] - 1) / DENSITY_LEVELS) : 0;
  }
  return out;
}

// The contiguous frames from 0 (a feed may arrive before the frames it follows).
function available(player) {
  let n = 0;
  while (n < player.frames.length && player.frames[n]) n++;
  return n;
}

// ---------------------------------------------------------------- playback

function setPlaying(player, playing) {
  const paused = player.playing && !playing;
  player.playing = playing;
  player.lastTick = 0;
  if (playing && reducedMotion()) jumpToLast(player);
  if (player.playing) schedule(player);
  paint(player);
  if (paused || (playing && !player.playing)) announce(player); // paused, or at the end at once
}

// Whether the user asks for less motion, asked at the time of each action (so that a
// change of the setting, or a test emulating it on an open page, counts at once).
function reducedMotion() {
  return Boolean(window.matchMedia?.("(prefers-reduced-motion: reduce)").matches);
}

// Reduced motion: straight to the last frame received (no glide); the end of a finished run
// stops playback.
function jumpToLast(player) {
  const last = Math.max(available(player) - 1, 0);
  player.pos = last;
  if (player.finished) player.playing = false;
}

function schedule(player) {
  if (!player.raf) player.raf = requestAnimationFrame((t) => tick(player, t));
}

function tick(player, now) {
  player.raf = 0;
  if (!player.playing) return;
  const last = available(player) - 1;
  const dt = player.lastTick ? (now - player.lastTick) / 1000 : 0;
  player.lastTick = now;
  if (reducedMotion()) {
    jumpToLast(player);
  } else {
    player.pos = Math.min(player.pos + dt * RECORDS_PER_SECOND * player.speed, Math.max(last, 0));
    if (player.pos >= last && player.finished) player.playing = false;
  }
  paint(player);
  if (player.playing) schedule(player);
  else announce(player); // the end of the run
}

function stepBy(player, delta) {
  player.playing = false;
  const last = Math.max(available(player) - 1, 0);
  const base = delta > 0 ? Math.floor(player.pos + 1e-9) : Math.ceil(player.pos - 1e-9);
  player.pos = Math.min(Math.max(base + delta, 0), last);
  paint(player);
  announce(player);
}

// ---------------------------------------------------------------- announcements

// Each run's badge word: what its badge says (stopped, collapsed, not collapsed).
function badgeWord(state) {
  return state.stopped ? "stopped" : state.collapsed ? "collapsed" : "not collapsed";
}

// Where playback stands, for a screen reader: the step (as the status line says it) and
// each run's title, loss (as its read-out writes it) and badge word. Null before a frame.
export function announcementText(player) {
  const count = available(player);
  if (!count || !player.meta) return null;
  const index = Math.floor(Math.min(player.pos, count - 1) + 1e-9);
  const frame = player.frames[index];
  const runs = frame.runs.map((state, r) => (
    `${player.meta.titles[r]}: loss ${fmtLoss(state.loss)}, ${badgeWord(state)}.`));
  return [`Step ${frame.step} of ${player.meta.steps}.`, ...runs].join(" ");
}

function announce(player) {
  const view = player.view;
  clearTimeout(player.scrubTimer);
  if (!view || player.preview) return;
  const text = announcementText(player);
  if (text === null) return;
  const node = view.announcer;
  // The same words again are still a change (a screen reader says an unchanged region once).
  node.textContent = node.textContent === text ? `${text}\u00a0` : text;
  node.dataset.count = Number(node.dataset.count ?? 0) + 1;
}

// ---------------------------------------------------------------- view

function h(tag, className, parent, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function button(parent, label, title, onClick) {
  const node = h("button", "lv-btn", parent, label);
  node.type = "button";
  node.title = title;
  node.setAttribute("aria-label", title);
  node.onclick = onClick;
  return node;
}

function buildView(parentElement, player) {
  const root = h("div", "lv-player");
  root.tabIndex = 0;
  const view = { root, runs: [], player };
  view.note = h("div", "lv-note", root);
  view.panels = h("div", "lv-panels", root);
  view.legend = h("div", "lv-legend", root);
  // What a screen reader hears (announce): in the page from the first render.
  view.announcer = h("div", "lv-sr-only lv-announcer", root);
  view.announcer.setAttribute("role", "status");
  view.announcer.setAttribute("aria-live", "polite");
  view.announcer.setAttribute("aria-atomic", "true");
  const bar = h("div", "lv-controls", root);
  view.bar = bar;
  const p = () => view.player;
  view.play = button(bar, "▶ Play", "Play", () => {
    const pl = p();
    if (!pl.playing && pl.finished && pl.pos >= available(pl) - 1) pl.pos = 0;
    setPlaying(pl, !pl.playing);
  });
  button(bar, "|◀", "Back to step 0", () => {
    const pl = p();
    const wasPlaying = pl.playing;
    pl.pos = 0;
    setPlaying(pl, false);
    if (!wasPlaying) announce(pl); // setPlaying announced a pause
  });
  button(bar, "◀", "One recorded step back", () => stepBy(p(), -1));
  button(bar, "▶|", "One recorded step on", () => stepBy(p(), 1));
  view.slider = h("input", "lv-slider", bar);
  Object.assign(view.slider, { type: "range", min: 0, max: 0, step: "any", value: 0 });
  view.slider.setAttribute("aria-label", "Recorded step");
  view.slider.oninput = () => {
    const pl = p();
    pl.playing = false;
    pl.pos = Number(view.slider.value);
    paint(pl);
  };
  // The end of a scrub (a release, or each arrow key on the slider), once it rests.
  view.slider.onchange = () => {
    const pl = p();
    clearTimeout(pl.scrubTimer);
    pl.scrubTimer = setTimeout(() => announce(pl), SCRUB_ANNOUNCE_MS);
  };
  view.speed = h("select", "lv-speed", bar);
  view.speed.setAttribute("aria-label", "Playback speed");
  for (const s of SPEEDS) {
    const option = h("option", "", view.speed, `${s}x`);
    option.value = String(s);
  }
  view.speed.value = String(player.speed);
  view.speed.onchange = () => {
    p().speed = Number(view.speed.value);
  };
  view.status = h("span", "lv-status", bar);
  view.controls = [...bar.querySelectorAll("button, input, select")];
  view.curves = h("canvas", "lv-curves", root);
  root.onkeydown = (event) => {
    const pl = p();
    if (event.target !== root) return;
    if (event.key === " ") setPlaying(pl, !pl.playing);
    else if (event.key === "ArrowRight") stepBy(pl, 1);
    else if (event.key === "ArrowLeft") stepBy(pl, -1);
    else return;
    event.preventDefault();
  };
  parentElement.appendChild(root);
  view.resizeObserver = new ResizeObserver(() => {
    if (root.clientWidth === view.width) return;
    requestAnimationFrame(() => {
      layout(view.player, true);
      paint(view.player);
    });
  });
  view.resizeObserver.observe(root);
  return view;
}

function layout(player, force = false) {
  const view = player.view;
  if (!view || !player.meta) return;
  const runs = player.meta.titles.length;
  const width = view.root.clientWidth || 900;
  if (!force && view.width === width && view.runs.length === runs) return;
  view.width = width;
  if (view.runs.length !== runs) {
    view.panels.replaceChildren();
    view.runs = player.meta.titles.map(() => {
      const panel = h("div", "lv-run", view.panels);
      const head = h("div", "lv-run-head", panel);
      const run = { panel, title: h("span", "lv-title", head), badge: h("span", "lv-badge", head) };
      run.readout = h("div", "lv-readout", panel);
      run.canvas = h("canvas", "lv-scatter", panel);
      run.diagram = h("canvas", "lv-diagram", panel);
      run.diagram.setAttribute("role", "img");
      return run;
    });
    view.legendKey = "";
  }
  const gap = 16;
  let side = Math.max(160, Math.min(440, (width - gap * (runs - 1)) / runs));
  // Each run's diagram under its points, as wide. Too narrow for the diagram's words (a
  // phone): both as wide as the page allows, and the runs one under the other.
  if (side < DIAGRAM_MIN) side = Math.min(width, DIAGRAM_MIN + 60);
  const plot = side - DIAGRAM.left - DIAGRAM.right;
  for (const run of view.runs) {
    sizeCanvas(run.canvas, side, side);
    sizeCanvas(run.diagram, side, plot + DIAGRAM.top + DIAGRAM.bottom);
  }
  sizeCanvas(view.curves, width, 190);
  player.curves = null;
}

function sizeCanvas(canvas, width, height) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  canvas.getContext("2d").setTransform(ratio, 0, 0, ratio, 0, 0);
}

// ---------------------------------------------------------------- painting

function paint(player) {
  const view = player.view;
  if (!view || !player.meta) return;
  const count = available(player);
  const meta = player.meta;
  view.note.textContent = player.note;
  view.note.hidden = !player.note;
  drawLegend(view, meta);
  if (count === 0) {
    view.status.textContent = "waiting for the first frame";
    return;
  }
  const last = count - 1;
  const pos = Math.min(player.pos, last);
  const index = Math.floor(pos + 1e-9);
  const t = pos - index;
  const frame = player.frames[index];
  const next = t > 0 && index < last ? player.frames[index + 1] : null;
  const spans = player.spans || (player.spans = runSpans(player, count));
  view.runs.forEach((run, r) => {
    run.title.textContent = meta.titles[r];
    const state = frame.runs[r];
    const kind = badgeWord(state);
    run.badge.textContent = kind;
    run.badge.dataset.kind = kind.replace(" ", "-");
    const start = player.frames[0].runs[r].spread;
    run.readout.textContent =
      `step ${state.step} · loss ${fmtLoss(state.loss)} (margin ${meta.margin}) · ` +
      `spread ${spreadText(state.spread, start)} of its start`;
    drawScatter(run.canvas, state.xy, next ? next.runs[r].xy : null, t, spans[r], meta);
    drawDiagram(run.diagram, state, meta);
    run.diagram.setAttribute("aria-label", diagramText(state, meta.titles[r]));
  });
  drawCurves(view, player, count, frame.step + (next ? (next.step - frame.step) * t : 0));
  const ended = !player.playing && player.finished && index === last && !player.preview;
  view.play.textContent = player.playing ? "▮▮ Pause" : ended ? "▶ Replay" : "▶ Play";
  view.play.title = player.playing ? "Pause" : "Play";
  view.play.setAttribute("aria-label", view.play.title);
  view.slider.max = String(last);
  view.slider.value = String(pos);
  view.slider.setAttribute("aria-valuetext", `step ${frame.step} of ${meta.steps}`);
  let status = `step ${frame.step} of ${meta.steps}`;
  if (!player.finished) status += ` · the server has trained to step ${player.frames[last].step}`;
  view.status.textContent = status;
  view.root.classList.toggle("lv-preview", player.preview);
  for (const control of view.controls) control.disabled = player.preview;
  if (player.preview) view.status.textContent = "before training";
}

function fmtLoss(loss) {
  return loss === null ? "not finite" : loss.toFixed(4);
}

// A spread against its start that fits a read-out: 0.05%, 98.31%, 3,874%, or 1.3e+12x.
export function spreadText(spread, start) {
  if (spread === null || start === null || !(start > 0)) return "-";
  const ratio = spread / start;
  if (ratio < 10) return `${(ratio * 100).toFixed(2)}%`;
  if (ratio < 1e4) return `${Math.round(ratio * 100).toLocaleString("en-US")}%`;
  return `${ratio.toExponential(1)}x`;
}

// Per run, the widest box of every frame so far: a collapse shows as points shrinking.
function runSpans(player, count) {
  return player.meta.titles.map((_, r) => {
    let [x0, y0, x1, y1] = player.frames[0].runs[r].box;
    for (let i = 1; i < count; i++) {
      const b = player.frames[i].runs[r].box;
      x0 = Math.min(x0, b[0]);
      y0 = Math.min(y0, b[1]);
      x1 = Math.max(x1, b[2]);
      y1 = Math.max(y1, b[3]);
    }
    const side = Math.max(x1 - x0, y1 - y0, 1e-6) * (1 + 2 * PAD);
    const cx = (x0 + x1) / 2;
    const cy = (y0 + y1) / 2;
    return { x0: cx - side / 2, y0: cy - side / 2, side };
  });
}

function drawScatter(canvas, xy, nextXy, t, span, meta) {
  const ctx = canvas.getContext("2d");
  const size = parseFloat(canvas.style.width);
  ctx.clearRect(0, 0, size, size);
  ctx.strokeStyle = meta.frame_color;
  ctx.lineWidth = 1;
  ctx.strokeRect(0.5, 0.5, size - 1, size - 1);
  const k = (size - 2 * DOT - 4) / span.side;
  const ox = DOT + 2;
  ctx.lineWidth = 0.7;
  ctx.strokeStyle = meta.rim_color;
  const labels = meta.labels;
  // One path per class: 10 fills instead of 400.
  const classes = meta.colors.length;
  for (let c = 0; c < classes; c++) {
    ctx.beginPath();
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] % classes !== c) continue;
      let x = xy[2 * i];
      let y = xy[2 * i + 1];
      if (nextXy) {
        x += (nextXy[2 * i] - x) * t;
        y += (nextXy[2 * i + 1] - y) * t;
      }
      const px = ox + (x - span.x0) * k;
      const py = size - ox - (y - span.y0) * k;
      ctx.moveTo(px + DOT, py);
      ctx.arc(px, py, DOT, 0, 2 * Math.PI);
    }
    ctx.fillStyle = meta.colors[c];
    ctx.fill();
    ctx.stroke();
  }
}

// ---------------------------------------------------------------- triplet diagram

// Percent for a read-out: 0%, <0.1%, 0.4%, 37%, 100%.
function percent(share) {
  const value = share * 100;
  if (value > 0 && value < 0.05) return "<0.1%";
  return `${value > 0 && value < 9.95 ? value.toFixed(1) : Math.round(value)}%`;
}

// What the diagram shows at this frame, for a screen reader (the canvas's aria-label).
export function diagramText(state, title) {
  const diagram = state.diagram;
  if (!diagram) return `Triplet diagram of ${title}: none in this frame`;
  const corner = diagram.total ? state.density[0] / diagram.total : 0;
  const edge = tickLabel(diagram.d_max / diagram.bins);
  const [easy, semi, hard] = state.shares.map(percent);
  return (
    `Triplet diagram of ${title}, step ${state.step}: ${percent(corner)} of its ` +
    `${diagram.total.toLocaleString("en-US")} triplets have both distances under ${edge}, ` +
    `next to (0, 0); easy ${easy}, semi-hard ${semi}, hard ${hard}`
  );
}

// Every valid triplet of the run's first evaluation points at (d(a,p), d(a,n)), on axes
// fixed for the run (0 to its step-0 largest distance; farther ones on the far edge):
// the kinds' bands in their colours, the cells shaded in the page's ink on a log scale of
// their counts, the lines d(a,n) = d(a,p) (solid) and d(a,n) = d(a,p) + m (dashed), and
// each band's word written in it, and the share of the cell at (0, 0) when it is large.
function drawDiagram(canvas, state, meta) {
  const diagram = state.diagram;
  canvas.hidden = !diagram;
  if (!diagram) return;
  const ctx = canvas.getContext("2d");
  const width = parseFloat(canvas.style.width);
  const height = parseFloat(canvas.style.height);
  const size = width - DIAGRAM.left - DIAGRAM.right;
  const left = DIAGRAM.left;
  const bottom = DIAGRAM.top + size;
  const top = diagram.d_max;
  const m = Math.min(meta.margin, top);
  const px = (v) => left + (Math.min(v, top) / top) * size;
  const py = (v) => bottom - (Math.min(v, top) / top) * size;
  const ink = meta.ink_color;
  ctx.clearRect(0, 0, width, height);
  ctx.save();
  const [easy, semi, hard] = meta.kinds;
  const bands = [
    [hard, [[0, 0], [top, 0], [top, top]]],
    [semi, [[0, 0], [top, top], [top - m, top], [0, m]]],
    [easy, m < top ? [[0, m], [top - m, top], [0, top]] : []],
  ];
  ctx.globalAlpha = 0.16;
  for (const [kind, corners] of bands) {
    if (!corners.length) continue;
    ctx.fillStyle = kind.color;
    ctx.beginPath();
    corners.forEach(([x, y], i) => (i ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y))));
    ctx.fill();
  }
  // The cells: from a faint shade (one triplet) to the ink (the fullest cell), log10 counts.
  const { bins } = diagram;
  const counts = state.density;
  const most = Math.max(...counts);
  const scale = Math.log10(Math.max(most, 1)) + 0.5;
  const edge = (b) => Math.round(left + (b / bins) * size);
  const rise = (b) => Math.round(bottom - (b / bins) * size);
  ctx.fillStyle = ink;
  for (let i = 0; i < bins; i++) {
    for (let j = 0; j < bins; j++) {
      const count = counts[i * bins + j];
      if (!(count > 0)) continue;
      ctx.globalAlpha = 0.12 + (0.83 * (Math.log10(count) + 0.5)) / scale;
      ctx.fillRect(edge(i), rise(j + 1), edge(i + 1) - edge(i), rise(j) - rise(j + 1));
    }
  }
  // The lines, each on a halo of the page's background: they cross cells of any shade.
  ctx.globalAlpha = 1;
  ctx.beginPath();
  ctx.rect(left, DIAGRAM.top, size, size);
  ctx.save();
  ctx.clip();
  for (const [color, dash, y0] of [[ink, [], 0], [meta.text_color, [6, 4], m]]) {
    ctx.setLineDash(dash);
    ctx.strokeStyle = meta.background_color;
    ctx.lineWidth = 3;
    ctx.globalAlpha = 0.7;
    line(ctx, px(0), py(y0), px(top - y0), py(top));
    ctx.globalAlpha = 1;
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.8;
    line(ctx, px(0), py(y0), px(top - y0), py(top));
  }
  ctx.restore();
  ctx.setLineDash([]);
  ctx.strokeStyle = meta.frame_color;
  ctx.lineWidth = 1;
  ctx.strokeRect(left + 0.5, DIAGRAM.top + 0.5, size - 1, size - 1);
  // The bands' words, where each band has room: easy top left, hard bottom right,
  // semi-hard along its band near the top right.
  const font = size < 220 ? 11 : 12;
  ctx.font = `600 ${font}px sans-serif`;
  const spread = top - m;
  if (m < top) pill(ctx, easy, px(0.2 * spread), py(top - 0.16 * spread), 0, meta);
  pill(ctx, hard, px(0.8 * top), py(0.16 * top), 0, meta);
  const along = 0.78 * spread;
  pill(ctx, semi, px(along), py(along + m / 2), -Math.PI / 4, meta);
  // Where a collapse sends the triplets: the cell at (0, 0), its share written beside it.
  const corner = diagram.total ? counts[0] / diagram.total : 0;
  if (corner >= 0.05) {
    ctx.font = "600 12px sans-serif";
    ctx.textAlign = "left";
    ctx.textBaseline = "bottom";
    ctx.lineJoin = "round";
    const text = `← ${percent(corner)} of triplets here`;
    const [x, y] = [edge(1) + 6, bottom - 3];
    ctx.lineWidth = 3;
    ctx.strokeStyle = meta.background_color;
    ctx.strokeText(text, x, y);
    ctx.fillStyle = ink;
    ctx.fillText(text, x, y);
    ctx.textBaseline = "alphabetic";
  }
  // Axes: ticks at 0, the margin (on d(a,n)) and the end, and what each axis is.
  ctx.fillStyle = meta.text_color;
  ctx.font = "10px sans-serif";
  ctx.textAlign = "center";
  ctx.fillText("0", px(0), bottom + 12);
  ctx.fillText(tickLabel(top), px(top) - 8, bottom + 12);
  ctx.textAlign = "right";
  ctx.fillText(tickLabel(top), left - 4, py(top) + 8);
  if (py(m) < bottom - 12 && py(m) > DIAGRAM.top + 14) ctx.fillText("m", left - 4, py(m) + 3);
  ctx.fillText("0", left - 4, bottom);
  ctx.font = "12px sans-serif";
  ctx.textAlign = "center";
  ctx.fillText("d(a, p): anchor to positive →", left + size / 2, bottom + 28);
  ctx.save();
  ctx.translate(left - 18, DIAGRAM.top + size / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText("d(a, n): anchor to negative →", 0, 0);
  ctx.restore();
  ctx.textAlign = "left";
  const title = `${diagram.total.toLocaleString("en-US")} triplets · stronger shade = more (log)`;
  const named = `Triplet diagram · ${title}`;
  ctx.fillText(ctx.measureText(named).width <= size ? named : title, left, DIAGRAM.top - 8);
  ctx.restore();
}

function line(ctx, x0, y0, x1, y1) {
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
}

// A kind's word on the page's background, framed in the kind's colour (the word carries the
// kind, the colour only repeats it), centred at (x, y) and turned by `angle`.
function pill(ctx, kind, x, y, angle, meta) {
  const text = kind.name;
  const w = ctx.measureText(text).width + 10;
  const hgt = parseInt(ctx.font.match(/(\d+)px/)[1], 10) + 6;
  ctx.save();
  ctx.translate(x, y);
  ctx.rotate(angle);
  ctx.globalAlpha = 0.88;
  ctx.fillStyle = meta.background_color;
  ctx.beginPath();
  ctx.roundRect(-w / 2, -hgt / 2, w, hgt, 4);
  ctx.fill();
  ctx.globalAlpha = 1;
  ctx.strokeStyle = kind.color;
  ctx.lineWidth = 1.5;
  ctx.stroke();
  ctx.fillStyle = meta.ink_color;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(text, 0, 0.5);
  ctx.restore();
}

function drawLegend(view, meta) {
  const key = JSON.stringify([meta.classes, meta.colors, meta.titles, meta.diagram_points]);
  if (view.legendKey === key) return;
  view.legendKey = key;
  view.legend.replaceChildren();
  const classes = h("div", "lv-legend-row", view.legend);
  h("span", "lv-legend-title", classes, "class");
  meta.classes.forEach((name, c) => {
    const item = h("span", "lv-legend-item", classes);
    const dot = h("span", "lv-dot", item);
    dot.style.background = meta.colors[c % meta.colors.length];
    h("span", "", item, name); // textContent: class names are shown as text only
  });
  const curves = h("div", "lv-legend-row", view.legend);
  h("span", "lv-legend-title", curves, "curves");
  meta.titles.forEach((title, r) => {
    const item = h("span", "lv-legend-item", curves);
    const line = h("span", r === 0 ? "lv-line" : "lv-line lv-dotted", item);
    line.style.borderColor = meta.run_colors[r];
    h("span", "", item, title);
  });
  for (const kind of meta.kinds) {
    const item = h("span", "lv-legend-item", curves);
    const line = h("span", "lv-line", item);
    line.style.borderColor = kind.color;
    h("span", "", item, kind.name);
  }
  const diagram = h("div", "lv-legend-row", view.legend);
  h("span", "lv-legend-title", diagram, "triplet diagram");
  const lines = [
    ["lv-line lv-ink", "d(a,n) = d(a,p)"],
    ["lv-line lv-dashed", "d(a,n) = d(a,p) + m"],
  ];
  for (const [className, text] of lines) {
    const item = h("span", "lv-legend-item", diagram);
    h("span", className, item); // coloured by player.css (the theme's ink, muted)
    h("span", "", item, text);
  }
  const note = `every triplet of the first ${meta.diagram_points} points; the axes end at ` +
    "step 0's largest distance (farther ones lie on the far edge)";
  h("span", "lv-legend-item", diagram, note);
}

// ---------------------------------------------------------------- curves

function drawCurves(view, player, count, cursorStep) {
  const canvas = view.curves;
  const ctx = canvas.getContext("2d");
  const width = parseFloat(canvas.style.width);
  const height = parseFloat(canvas.style.height);
  if (!player.curves) player.curves = curveModel(player, count, width, height);
  ctx.clearRect(0, 0, width, height);
  for (const chart of player.curves) {
    drawChart(ctx, chart, player.meta);
    const x = chart.x(cursorStep);
    ctx.strokeStyle = player.meta.cursor_color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(x, chart.top);
    ctx.lineTo(x, chart.bottom);
    ctx.stroke();
  }
}

function curveModel(player, count, width, height) {
  const meta = player.meta;
  const frames = player.frames.slice(0, count);
  const runs = meta.titles.length;
  const third = width / 3;
  const steps = frames.map((f) => f.step);
  const finiteLoss = [];
  const spreads = [];
  for (const f of frames) {
    for (const run of f.runs) {
      if (run.loss !== null) finiteLoss.push(run.loss);
      if (run.spread !== null && run.spread > 0) spreads.push(run.spread);
    }
  }
  finiteLoss.sort((a, b) => a - b);
  const p90 = finiteLoss.length ? finiteLoss[Math.floor(0.9 * (finiteLoss.length - 1))] : 1;
  const lossTop = Math.max(3 * meta.margin, p90, 1e-6) * 1.05;
  const lo = spreads.length ? Math.max(Math.min(...spreads), 1e-12) : 1e-3;
  const hi = spreads.length ? Math.max(Math.max(...spreads), lo * 10) : 1;
  const charts = [
    { title: "batch loss", y0: 0, y1: lossTop, log: false, value: (run) => run.loss },
    { title: "spread (log)", y0: lo, y1: hi, log: true, value: (run) => run.spread },
    { title: "easy / semi-hard / hard", y0: 0, y1: 1, log: false, shares: true },
  ];
  return charts.map((chart, c) => {
    const left = c * third + CURVE.left;
    const right = (c + 1) * third - CURVE.right;
    const top = CURVE.top;
    const bottom = height - CURVE.bottom;
    const x = (step) => left + (step / Math.max(meta.steps, 1)) * (right - left);
    const ly = (v) => (chart.log ? Math.log10(v) : v);
    const y = (v) => bottom - ((ly(v) - ly(chart.y0)) / (ly(chart.y1) - ly(chart.y0))) * (bottom - top);
    const lines = [];
    for (let r = 0; r < runs; r++) {
      const dash = r === 0 ? [] : [2, 3];
      if (chart.shares) {
        meta.kinds.forEach((kind, k) => {
          const share = (run) => run.shares[k];
          lines.push({ color: kind.color, dash, path: path(frames, steps, x, y, share, r, false) });
        });
      } else {
        const curve = path(frames, steps, x, y, chart.value, r, chart.log);
        lines.push({ color: meta.run_colors[r], dash, path: curve });
      }
    }
    return { ...chart, left, right, top, bottom, x, y, lines };
  });
}

// A polyline through the recorded values, broken where a value is missing (not finite)
// or, on a log axis, not positive.
function path(frames, steps, x, y, value, r, positiveOnly) {
  const p = new Path2D();
  let pen = false;
  frames.forEach((f, i) => {
    const v = value(f.runs[r]);
    if (v === null || !Number.isFinite(v) || (positiveOnly && v <= 0)) {
      pen = false;
      return;
    }
    const px = x(steps[i]);
    const py = y(v);
    if (pen) p.lineTo(px, py);
    else p.moveTo(px, py);
    pen = true;
  });
  return p;
}

function tickLabel(v) {
  return v !== 0 && (Math.abs(v) < 1e-2 || Math.abs(v) >= 1e4) ? v.toExponential(0) : v.toPrecision(2);
}

function drawChart(ctx, chart, meta) {
  ctx.save();
  ctx.strokeStyle = meta.frame_color;
  ctx.lineWidth = 1;
  ctx.strokeRect(chart.left + 0.5, chart.top + 0.5, chart.right - chart.left, chart.bottom - chart.top);
  ctx.fillStyle = meta.text_color;
  ctx.font = "12px sans-serif";
  ctx.textAlign = "left";
  ctx.fillText(chart.title, chart.left, chart.top - 7);
  ctx.font = "10px sans-serif";
  ctx.textAlign = "right";
  for (const v of [chart.y0, chart.y1]) {
    const label = chart.shares ? `${Math.round(v * 100)}%` : tickLabel(v);
    ctx.fillText(label, chart.left - 4, chart.y(v) + 3);
  }
  ctx.textAlign = "center";
  ctx.fillText("0", chart.left, chart.bottom + 13);
  ctx.fillText(`step ${meta.steps}`, chart.right - 18, chart.bottom + 13);
  ctx.beginPath();
  ctx.rect(chart.left, chart.top, chart.right - chart.left, chart.bottom - chart.top);
  ctx.clip();
  if (!chart.log && !chart.shares) {
    const my = chart.y(meta.margin);
    ctx.strokeStyle = meta.margin_color;
    ctx.setLineDash([5, 4]);
    ctx.beginPath();
    ctx.moveTo(chart.left, my);
    ctx.lineTo(chart.right, my);
    ctx.stroke();
  }
  ctx.lineWidth = 1.8;
  for (const line of chart.lines) {
    ctx.strokeStyle = line.color;
    ctx.setLineDash(line.dash);
    ctx.stroke(line.path);
  }
  ctx.restore();
}
