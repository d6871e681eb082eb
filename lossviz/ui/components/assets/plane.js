// The draggable plane of lossviz/ui/components/plane.py (Streamlit Custom Components v2).
//
// Streamlit calls the default export on mount and AGAIN on every data or theme
// change; the cleanup it returns runs on unmount. So: one instance per
// parentElement (a WeakMap), DOM built once, handlers ASSIGNED once (never
// addEventListener per call, which stacks), and every call only stores the new
// data and redraws. Python's session state is the truth: we send the points on
// pointer-up (or after a pause in arrow-key moves) and adopt whatever points
// Python sends back, except while the user is moving one.
//
// While the points differ from Python's (a drag, arrow keys, a send not yet answered,
// an animation), the read-out above the plot and the regions' outlines come from
// mirror.js (the core's definitions); at rest they are
// Python's. Labels are placed so that none overlaps another, a point or the plot's
// edge. The plane downloads as SVG or PNG, exactly as drawn.
//
// With `circle`, the unit circle is drawn and every move keeps the point on it (a drag:
// the pointer's direction from the origin; the arrow keys: a turn of ANGLE_STEP, Shift
// for ANGLE_STEP_SHIFT). `weights` (a share per point) are bars beside the points, with
// their percentage as text, and the arrows' widths; an "infonce" live loss recomputes
// them (mirror.js's readInfoNCE) while the points differ from Python's.
//
// For a screen reader, a polite live region (role="status", visually hidden, there from
// the first render) says in one sentence what the read-out shows after a move: the moved
// point, the read-out's numbers as shown and the kind in words ("N moved. d(a, p) 1.414,
// d(a, n) 2.000, loss 0.414, semi-hard."). Arrow keys: once the keys pause (at most
// KEY_ANNOUNCE_MAX_MS after a key, however long they are held); a drag: at most once per
// DRAG_ANNOUNCE_MS while it moves, and always at the drop; an animation (Step, Descend):
// at its end. A typed distance has no numbers before Python answers: its sentence waits
// for them. Under `prefers-reduced-motion: reduce` (asked at the time of each animation)
// an animation jumps to its end at once.

import {
  ballOutline, distance, outlinePath, readInfoNCE, readPair, readTriplet, regionBalls,
} from "./mirror.js";
import { inkOn, themeColors } from "./theme.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const MARGIN = { left: 40, right: 12, top: 12, bottom: 30 }; // left+right = top+bottom: square plot
const ROLES = { A: "anchor", P: "positive", N: "negative" };
const KEY_SEND_DELAY_MS = 400;
const KEYS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
const POINT_RADIUS = 10; // the dot (8) and its white rim: what a label must not cover
const LABEL_HEIGHT = 20; // the text (about 17 px high) and a little air
const LABEL_FONT = "600 13px";
const WEIGHT_FONT = "600 12px";
const BAR = { w: 34, h: 6, gap: 4, boxH: 15 }; // a weight's bar, then its "42 %"
const ARROW_WIDTH = [1.5, 7]; // px: an arrow's width at weight 0 and 1
const ANGLE_STEP = 3; // degrees per arrow key on the circle
const ANGLE_STEP_SHIFT = 15;
const NO_DIRECTION = 1e-12; // a pointer this close to the centre keeps the point's angle
const KEY_ANNOUNCE_QUIET_MS = 300; // arrow keys: announce once they pause this long...
const KEY_ANNOUNCE_MAX_MS = 800; // ...or this long after the first unannounced key
const DRAG_ANNOUNCE_MS = 1000; // a drag: at most one announcement per second while moving
const ANIMATION_DONE = "The points moved.";
// A pair's term in words (its badge writes the formula: "push: (m − d)²").
const TERM_WORDS = { pull: "pull term", push: "push term", none: "no term" };
// The read-out's numbers: [field, name] for a triplet, a pair and InfoNCE.
const READOUT_FIELDS = {
  triplet: [["d_ap", "d(a, p)"], ["d_an", "d(a, n)"], ["d_pn", "d(p, n)"], ["loss", "loss"]],
  pair: [["d", "d"], ["loss", "loss"]],
  infonce: [["loss", "loss"], ["bound", "lower bound"], ["hardest", "hardest"],
    ["alignment", "alignment"], ["uniformity", "uniformity"]],
};

const instances = new WeakMap(); // parentElement -> instance
const playedAnimations = new Map(); // Python key -> Set of played ids (outlives a remount)

export default function (component) {
  const { parentElement, setStateValue } = component;
  const data = parse(component.data);
  let inst = instances.get(parentElement);
  if (!inst) {
    inst = createInstance(parentElement);
    instances.set(parentElement, inst);
  }
  inst.setStateValue = setStateValue;
  receive(inst, data);
  return () => scheduleTeardown(parentElement, inst);
}

// lossviz sends its data as JSON bytes (lossviz/ui/components/wire.py): a Uint8Array here.
function parse(raw) {
  return raw instanceof Uint8Array ? JSON.parse(new TextDecoder().decode(raw)) : raw;
}

// ---------------------------------------------------------------- building

function set(node, attrs) {
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function el(tag, attrs = {}, parent = null) {
  const node = set(document.createElementNS(SVG_NS, tag), attrs);
  if (parent) parent.appendChild(node);
  return node;
}

function createInstance(parentElement) {
  const root = document.createElement("div");
  root.className = "lv-plane";
  const readout = document.createElement("div");
  readout.className = "lv-readout";
  readout.hidden = true;
  const stage = document.createElement("div");
  stage.className = "lv-stage";
  const canvas = document.createElement("canvas");
  canvas.className = "lv-regions";
  const svg = el("svg", { class: "lv-svg" });
  // A nested <svg> clips the regions' outlines to the plot (no clipPath id to resolve).
  const shapes = el("svg", { class: "lv-shapes", overflow: "hidden" }, svg);
  const layer = (cls) => el("g", { class: cls }, svg);
  const grid = layer("lv-grid");
  const unitCircle = el("circle", { class: "lv-unit-circle" }, svg);
  const footer = document.createElement("div");
  footer.className = "lv-footer";
  // What a screen reader hears after a move: in the page from the first render, so that
  // it is registered before its first change.
  const announcer = document.createElement("div");
  announcer.className = "lv-sr-only lv-announcer";
  announcer.setAttribute("role", "status");
  announcer.setAttribute("aria-live", "polite");
  announcer.setAttribute("aria-atomic", "true");
  const inst = {
    root, readout, stage, canvas, svg, shapes,
    plotRect: el("rect", { class: "lv-plot-rect" }, svg),
    grid, unitCircle, lines: layer("lv-lines"), arrows: layer("lv-arrows"),
    points: layer("lv-points"), labels: layer("lv-labels"), weights: layer("lv-weights"),
    caption: document.createElement("div"),
    data: null, pts: {}, animPts: null, plot: null, layoutKey: "", regionsKey: "", width: 0,
    drag: null, dirty: false, keyTimer: 0, lastSentSeq: 0, sentCount: 0, anim: null,
    pointEls: new Map(), lineEls: new Map(), arrowEls: new Map(), labelEls: new Map(),
    weightEls: new Map(), readoutKey: "", announcer, announceTimer: 0, announceDeadline: 0,
    lastAnnounceMs: -Infinity, announceWaiting: null, shown: null, shownWeights: null,
  };
  inst.caption.className = "lv-caption";
  stage.append(canvas, svg);
  footer.append(inst.caption, downloadButtons(inst));
  root.append(readout, stage, footer, announcer);
  parentElement.appendChild(root);
  assignHandlers(inst);
  // Width changes only (our own height follows from it), applied in the next frame:
  // resizing inside the observer's callback would loop.
  inst.resizeObserver = new ResizeObserver(() => {
    if (!inst.data || inst.root.clientWidth === inst.width) return;
    requestAnimationFrame(() => {
      layout(inst);
      redraw(inst);
    });
  });
  inst.resizeObserver.observe(root);
  return inst;
}

// A spurious cleanup can arrive while still mounted (an older call finishing after a
// data change): only tear down once the element has really left the page.
function scheduleTeardown(parentElement, inst) {
  setTimeout(() => {
    if (inst.root.isConnected) return;
    inst.resizeObserver.disconnect();
    cancelAnimationFrame(inst.anim?.raf ?? 0);
    clearTimeout(inst.keyTimer);
    clearTimeout(inst.announceTimer);
    instances.delete(parentElement);
  }, 200);
}

// ---------------------------------------------------------------- data in

function receive(inst, data) {
  inst.data = data;
  // Adopt Python's points unless the user is moving one or Python has not yet
  // seen (acknowledged) our last send: a stale rerun must not snap a point back.
  const adopt = !inst.drag && !inst.dirty && (data.ack ?? 0) >= inst.lastSentSeq;
  const next = {};
  for (const [name, p] of Object.entries(data.points)) {
    next[name] = adopt || !inst.pts[name] ? [p[0], p[1]] : inst.pts[name];
  }
  inst.pts = next;
  inst.ack = data.ack ?? 0;
  markStale(inst);
  inst.root.style.maxWidth = `${data.height_px}px`;
  inst.caption.textContent = data.caption || "";
  inst.caption.hidden = !data.caption;
  inst.root.classList.toggle("lv-static", Boolean(data.static));
  inst.unitCircle.style.display = data.circle ? "" : "none";
  const traj = data.trajectory;
  if (traj && traj.frames.length > 1) {
    const played = playedAnimations.get(data.instance) ?? new Set();
    playedAnimations.set(data.instance, played);
    if (!played.has(traj.id)) {
      played.add(traj.id); // played once per id, even if a drag makes us skip it
      if (!inst.drag) startAnimation(inst, traj);
    }
  }
  drawRegions(inst, data.regions);
  layout(inst);
  redraw(inst);
}

// ---------------------------------------------------------------- geometry

function layout(inst) {
  const { bounds, height_px: maxSide } = inst.data;
  inst.width = inst.root.clientWidth;
  const side = Math.max(120, Math.min(inst.width || maxSide, maxSide));
  const key = `${side}|${bounds}`;
  if (key === inst.layoutKey) return;
  inst.layoutKey = key;
  const s = side - MARGIN.left - MARGIN.right;
  inst.plot = { x: MARGIN.left, y: MARGIN.top, s, lo: bounds[0], hi: bounds[1] };
  inst.stage.style.width = inst.stage.style.height = `${side}px`;
  set(inst.svg, { width: side, height: side });
  set(inst.plotRect, { x: MARGIN.left, y: MARGIN.top, width: s, height: s });
  set(inst.shapes, {
    x: MARGIN.left, y: MARGIN.top, width: s, height: s, viewBox: `${MARGIN.left} ${MARGIN.top} ${s} ${s}`,
  });
  Object.assign(inst.canvas.style, {
    left: `${MARGIN.left}px`, top: `${MARGIN.top}px`, width: `${s}px`, height: `${s}px`,
  });
  drawGrid(inst);
  const [cx, cy] = toPx(inst.plot, [0, 0]);
  set(inst.unitCircle, { cx, cy, r: s / (bounds[1] - bounds[0]) });
}

function toPx(plot, [x, y]) {
  const k = plot.s / (plot.hi - plot.lo);
  return [plot.x + (x - plot.lo) * k, plot.y + (plot.hi - y) * k];
}

function toData(inst, clientX, clientY) {
  const { plot } = inst;
  const box = inst.svg.getBoundingClientRect();
  const k = (plot.hi - plot.lo) / plot.s;
  return [plot.lo + (clientX - box.left - plot.x) * k, plot.hi - (clientY - box.top - plot.y) * k];
}

function clamp([x, y], { lo, hi }) {
  return [Math.min(Math.max(x, lo), hi), Math.min(Math.max(y, lo), hi)];
}

// 1, 2 or 5 times a power of ten, giving about `target` intervals over the span.
function niceStep(span, target) {
  const raw = span / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw * 0.99);
}

function drawGrid(inst) {
  const { plot, grid } = inst;
  grid.replaceChildren();
  const step = niceStep(plot.hi - plot.lo, 4);
  const fine = step / 2;
  const end = plot.x + plot.s;
  for (let v = Math.ceil(plot.lo / fine) * fine; v <= plot.hi + 1e-9; v += fine) {
    const [px, py] = toPx(plot, [v, v]);
    const major = Math.abs(v / step - Math.round(v / step)) < 1e-6;
    const cls = Math.abs(v) < 1e-9 ? "lv-axis" : major ? "lv-grid-major" : "lv-grid-minor";
    el("line", { class: cls, x1: px, x2: px, y1: plot.y, y2: plot.y + plot.s }, grid);
    el("line", { class: cls, x1: plot.x, x2: end, y1: py, y2: py }, grid);
    if (!major) continue;
    const label = String(Math.round(v * 1e6) / 1e6);
    el("text", { class: "lv-tick", x: px, y: plot.y + plot.s + 16, "text-anchor": "middle" }, grid)
      .textContent = label;
    el("text", { class: "lv-tick", x: plot.x - 6, y: py + 4, "text-anchor": "end" }, grid)
      .textContent = label;
  }
}

// ---------------------------------------------------------------- regions

// One canvas pixel per cell, scaled by CSS with `image-rendering: pixelated`
// (no smoothing: crisp cells). Redrawn only when the cells or palette change.
function drawRegions(inst, regions) {
  inst.canvas.hidden = !regions;
  if (!regions) return;
  inst.root.style.setProperty("--lv-regions-opacity", regions.opacity);
  const key = `${regions.size}|${JSON.stringify(regions.palette)}|${regions.cells}`;
  if (key === inst.regionsKey) return;
  inst.regionsKey = key;
  const { size, cells } = regions;
  inst.canvas.width = inst.canvas.height = size;
  const ctx = inst.canvas.getContext("2d");
  const image = ctx.createImageData(size, size);
  const pixels = new Uint32Array(image.data.buffer);
  const lut = {};
  for (const [ch, color] of Object.entries(regions.palette)) lut[ch] = packColor(color);
  for (let i = 0; i < cells.length; i++) pixels[i] = lut[cells[i]] ?? 0;
  ctx.putImageData(image, 0, 0);
}

// Any CSS colour -> RGBA packed as the canvas stores it (little-endian ABGR).
function packColor(color) {
  packColor.ctx ??= new OffscreenCanvas(1, 1).getContext("2d", { willReadFrequently: true });
  const ctx = packColor.ctx;
  ctx.clearRect(0, 0, 1, 1);
  ctx.fillStyle = color;
  ctx.fillRect(0, 0, 1, 1);
  return new Uint32Array(ctx.getImageData(0, 0, 1, 1).data.buffer)[0];
}

// ---------------------------------------------------------------- drawing

// Positions only (cheap, called on every pointer move); layout() handles size.
function redraw(inst) {
  if (!inst.data || !inst.plot) return;
  const pts = inst.animPts ?? inst.pts;
  const atRest = !inst.animPts && samePoints(pts, inst.data.points);
  const { live, reading } = inst.data;
  // InfoNCE's own numbers for the points shown, when Python's are not theirs.
  const info = live?.kind === "infonce" && (!atRest || !reading) ? readInfoNCE(live, pts) : null;
  const weights = shownWeights(inst, info, atRest);
  drawShapes(inst, pts, atRest);
  drawLines(inst, pts);
  drawArrows(inst, pts, weights);
  drawPoints(inst, pts);
  placeLabels(inst, pts, weights);
  drawReadout(inst, pts, atRest, info);
  inst.shownWeights = weights;
  inst.root.dataset.points = JSON.stringify(pts);
  // A sentence that waited for Python's numbers (a typed distance) is said once they show.
  if (inst.announceWaiting !== null && inst.shown?.source !== "pending") {
    announceNow(inst, inst.announceWaiting);
  }
}

// Each weighted point's share now: Python's at rest, the mirror's (InfoNCE) while the
// points differ (null where it is undefined); null when the plane has no weights.
function shownWeights(inst, info, atRest) {
  const theirs = inst.data.weights;
  if (!theirs || atRest || !info) return theirs ?? null;
  const out = {};
  for (const name of Object.keys(theirs)) {
    const i = info.names.indexOf(name);
    out[name] = info.weights && i >= 0 ? info.weights[i] : null;
  }
  return out;
}

function roleOf(name) {
  return ROLES[name] ?? (/^N\d+$/.test(name) ? "negative" : "point");
}

// Whether the plane shows Python's points (then Python's numbers and regions are theirs).
function samePoints(pts, theirs) {
  return Object.entries(theirs).every(([n, p]) => pts[n] && pts[n][0] === p[0] && pts[n][1] === p[1]);
}

// Keep one set of SVG nodes per key: create the missing ones, drop the extra ones.
function syncNodes(cache, keys, create) {
  for (const [k, nodes] of cache) {
    if (!keys.includes(k)) {
      nodes.root.remove();
      cache.delete(k);
    }
  }
  for (const k of keys) if (!cache.has(k)) cache.set(k, create(k));
}

function centroidPx(plot, pts) {
  const all = Object.values(pts).map((p) => toPx(plot, p));
  return [0, 1].map((i) => all.reduce((sum, p) => sum + p[i], 0) / all.length);
}

function drawPoints(inst, pts) {
  const { data, plot } = inst;
  const names = Object.keys(pts);
  syncNodes(inst.pointEls, names, (name) => {
    const attrs = { class: "lv-point", tabindex: "0", role: "button", "data-name": name };
    const root = el("g", attrs, inst.points);
    return {
      root,
      ring: el("circle", { class: "lv-ring", r: 15 }, root),
      dot: el("circle", { class: "lv-dot", r: 8 }, root),
    };
  });
  for (const name of names) {
    const { root, dot } = inst.pointEls.get(name);
    // A static plane is a picture: its points take no focus and show no grab cursor.
    if (data.static) {
      root.removeAttribute("tabindex");
      set(root, { role: "img" });
      root.style.cursor = "default";
    } else {
      set(root, { tabindex: "0", role: "button" });
      root.style.cursor = "";
    }
    const [x, y] = pts[name];
    const [px, py] = toPx(plot, [x, y]);
    root.setAttribute("transform", `translate(${px} ${py})`);
    dot.setAttribute("fill", data.colors[name]);
    const at = `${roleOf(name)} ${name} at (${x.toFixed(2)}, ${y.toFixed(2)})`;
    const along = `${at} on the unit circle, ${degrees([x, y])} degrees: drag it or use the `
      + "arrow keys to move it along the circle (right or up: counterclockwise, left or down: "
      + `clockwise; Shift: ${ANGLE_STEP_SHIFT} degrees)`;
    root.setAttribute("aria-label", data.circle && !data.static ? along : at);
  }
}

function drawLines(inst, pts) {
  const { data, plot } = inst;
  const pairs = data.lines.filter(([a, b]) => pts[a] && pts[b]);
  syncNodes(inst.lineEls, pairs.map((p) => p.join("|")), () => {
    const root = el("g", { class: "lv-pair" }, inst.lines);
    return { root, line: el("line", { class: "lv-line" }, root) };
  });
  for (const [a, b] of pairs) {
    const [x1, y1] = toPx(plot, pts[a]);
    const [x2, y2] = toPx(plot, pts[b]);
    set(inst.lineEls.get(`${a}|${b}`).line, { x1, y1, x2, y2, stroke: data.colors[b] });
  }
}

// ---------------------------------------------------------------- exact regions

// Python's balls at rest; the mirror's for the points shown while they differ (a drag,
// an animation), so the outlines follow the points. One <path> per ball, opaque, in a
// group whose opacity applies once: overlapping balls of a layer make their union.
function drawShapes(inst, pts, atRest) {
  const shapes = inst.data.shapes;
  inst.shapes.style.display = shapes ? "" : "none";
  if (!shapes) return;
  const mirrored = atRest ? null : regionBalls(inst.data.metric, inst.data.live, pts);
  const { plot } = inst;
  const scale = plot.s / (plot.hi - plot.lo);
  const toPlot = (p) => toPx(plot, p);
  const paths = [];
  if (shapes.base) paths.push({ d: outlinePath("all", plot), fill: shapes.base, role: "base" });
  for (const layer of shapes.layers) {
    const balls = (layer.role && mirrored?.[layer.role]) || layer.balls;
    for (const ball of balls) {
      const d = outlinePath(ballOutline(ball, toPlot, scale, plot), plot);
      if (d) paths.push({ d, fill: layer.color, role: layer.role || "shape" });
    }
  }
  inst.shapes.setAttribute("opacity", shapes.opacity);
  const nodes = inst.shapes.children;
  while (nodes.length > paths.length) nodes[nodes.length - 1].remove();
  paths.forEach((path, i) => {
    const node = nodes[i] ?? el("path", { class: "lv-shape" }, inst.shapes);
    set(node, { d: path.d, fill: path.fill, "data-role": path.role });
  });
  inst.root.dataset.shapesSource = atRest || !mirrored ? "server" : "mirror";
}

// ---------------------------------------------------------------- labels

// Point labels, then distance labels, each at the first of its candidate spots that
// overlaps no placed label, no point and not the plot's edge (else the least bad one),
// preferring spots off the lines. Candidates go outwards in rings, so a free spot is
// always near.
function placeLabels(inst, pts, weights) {
  const { data, plot } = inst;
  const items = [];
  // A weighted point's label carries its bar and percentage after it: one box, placed as
  // one, so a bar can never be read as a neighbour's.
  const bars = Object.keys(weights ?? {}).filter((name) => pts[name]);
  for (const name of Object.keys(pts)) {
    const text = data.labels[name] ?? name;
    const share = bars.includes(name) ? weights[name] : undefined;
    const bar = share === undefined ? null
      : { share, text: Number.isFinite(share) ? `${Math.round(share * 100)} %` : "—" };
    if (!text && !bar) continue;
    items.push({ key: `p:${name}`, name, text, bar, cls: "lv-label", point: toPx(plot, pts[name]) });
  }
  syncNodes(inst.weightEls, bars, (name) => {
    const root = el("g", { class: "lv-weight", "data-name": name }, inst.weights);
    return {
      root,
      track: el("rect", { class: "lv-weight-track", width: BAR.w, height: BAR.h, rx: 2 }, root),
      fill: el("rect", { class: "lv-weight-fill", height: BAR.h, rx: 2 }, root),
      text: el("text", { class: "lv-weight-text", x: BAR.w + BAR.gap, "dominant-baseline": "central" },
        root),
    };
  });
  for (const [a, b] of data.lines) {
    if (!pts[a] || !pts[b]) continue;
    const d = distance(data.metric, pts[a], pts[b]);
    if (d === null) continue;
    items.push({
      key: `d:${a}|${b}`, text: `d(${a},${b}) = ${formatNumber(d)}`, cls: "lv-dist",
      segment: [toPx(plot, pts[a]), toPx(plot, pts[b])], color: data.colors[b],
    });
  }
  const texts = items.filter((item) => item.text);
  syncNodes(inst.labelEls, texts.map((item) => item.key), (key) => {
    const node = el("text", { "data-key": key }, inst.labels);
    return { root: node };
  });
  const centroid = centroidPx(plot, pts);
  const discs = Object.values(pts).map((p) => toPx(plot, p));
  const segments = data.lines.filter(([a, b]) => pts[a] && pts[b])
    .map(([a, b]) => [toPx(plot, pts[a]), toPx(plot, pts[b])]);
  if (!inst.root.classList.contains("lv-stale") && !inst.anim) { // arrows are shown
    for (const [name, [dx, dy]] of Object.entries(data.arrows ?? {})) {
      if (pts[name]) segments.push([toPx(plot, pts[name]), toPx(plot, [pts[name][0] + dx, pts[name][1] + dy])]);
    }
  }
  const placed = [];
  for (const item of items) {
    const textW = item.text ? textWidth(inst, item.text) + 6 : 0;
    const barW = item.bar ? BAR.w + BAR.gap + textWidth(inst, item.bar.text, WEIGHT_FONT) + 4 : 0;
    const w = textW + barW;
    const h = item.text ? LABEL_HEIGHT : BAR.boxH;
    const candidates = item.point
      ? pointCandidates(item.point, centroid, w, h)
      : lineCandidates(item.segment, centroid, w, h);
    let best = null;
    candidates.forEach((box, i) => {
      if (best && best.cost === 0) return;
      const cost = labelCost(box, plot, placed, discs, segments, i);
      if (!best || cost < best.cost) best = { box, cost };
    });
    const { box } = best;
    placed.push(box);
    if (item.bar) drawBar(inst, item, { x: box.x + textW - 2, y: box.y, w: barW, h });
    if (!item.text) continue;
    const node = inst.labelEls.get(item.key).root;
    node.textContent = item.text; // text only: a label is never parsed as HTML
    const [x, y] = [box.x + textW / 2, box.y + box.h / 2];
    set(node, { class: item.cls, x, y, "text-anchor": "middle", "dominant-baseline": "central" });
    // A line's label in its line's colour, darkened on light themes and lightened on dark
    // ones (mixed with the theme's text colour): it reads over its background halo.
    node.style.fill = item.color ? `color-mix(in srgb, ${item.color} 60%, var(--st-text-color, black))` : "";
    node.dataset.box = [box.x, box.y, box.w, box.h].map((v) => v.toFixed(1)).join(",");
  }
}

// A weight's bar (its share of BAR.w, in the point's colour) and its percentage, in `box`.
function drawBar(inst, item, box) {
  const { root, fill, text } = inst.weightEls.get(item.name);
  const { share } = item.bar;
  const width = Number.isFinite(share) ? BAR.w * Math.min(Math.max(share, 0), 1) : 0;
  const y = box.y + box.h / 2;
  const [left, top] = [box.x + 2, y - BAR.h / 2];
  root.setAttribute("transform", `translate(${left.toFixed(1)} ${top.toFixed(1)})`);
  set(fill, { width: width.toFixed(2), fill: inst.data.colors[item.name] });
  set(text, { y: BAR.h / 2 });
  text.textContent = item.bar.text;
  root.dataset.share = Number.isFinite(share) ? share : "";
  root.dataset.box = [box.x, box.y, box.w, box.h].map((v) => v.toFixed(1)).join(",");
}

function textWidth(inst, text, font = LABEL_FONT) {
  inst.measure ??= { ctx: document.createElement("canvas").getContext("2d"), cache: new Map() };
  const { ctx, cache } = inst.measure;
  const key = `${font}|${text}`;
  if (!cache.has(key)) {
    ctx.font = `${font} ${getComputedStyle(inst.root).fontFamily || "sans-serif"}`;
    cache.set(key, ctx.measureText(text).width);
  }
  return cache.get(key);
}

const DIRECTIONS = Array.from({ length: 16 }, (_, k) => [Math.cos((k * Math.PI) / 8), Math.sin((k * Math.PI) / 8)]);

// Boxes around a point, nearest ring first; in a ring, the directions away from the
// centroid (where the lines run) first.
function pointCandidates([px, py], [cx, cy], w, h) {
  const away = Math.atan2(py - cy, px - cx) || -Math.PI / 2;
  const order = [...DIRECTIONS].sort((u, v) => angleGap(u, away) - angleGap(v, away));
  const boxes = [];
  for (const rad of [13, 22, 34, 50, 72, 100, 140]) {
    for (const [ux, uy] of order) {
      const x = px + ux * (rad + w / 2);
      const y = py + uy * (rad + h / 2);
      boxes.push({ x: x - w / 2, y: y - h / 2, w, h });
    }
  }
  return boxes;
}

function angleGap([ux, uy], angle) {
  const d = Math.abs(Math.atan2(uy, ux) - angle) % (2 * Math.PI);
  return Math.min(d, 2 * Math.PI - d);
}

// Beside the line (outside the triangle first), sliding from its middle, then rings
// around the middle.
function lineCandidates([[x1, y1], [x2, y2]], [cx, cy], w, h) {
  const len = Math.hypot(x2 - x1, y2 - y1);
  let [nx, ny] = len > 0 ? [-(y2 - y1) / len, (x2 - x1) / len] : [0, -1];
  const [mx, my] = [(x1 + x2) / 2, (y1 + y2) / 2];
  if (nx * (mx - cx) + ny * (my - cy) < 0) [nx, ny] = [-nx, -ny];
  const extent = (Math.abs(nx) * w) / 2 + (Math.abs(ny) * h) / 2;
  const boxes = [];
  for (const off of [6, 16, 30]) {
    for (const t of [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8]) {
      for (const side of [1, -1]) {
        const x = x1 + (x2 - x1) * t + side * nx * (off + extent);
        const y = y1 + (y2 - y1) * t + side * ny * (off + extent);
        boxes.push({ x: x - w / 2, y: y - h / 2, w, h });
      }
    }
  }
  return boxes.concat(pointCandidates([mx, my], [mx - nx, my - ny], w, h).slice(32));
}

// 0 for a free spot; overlaps (labels, points, the plot's edge) cost far more than a
// crossed line, which costs more than a later candidate.
function labelCost(box, plot, placed, discs, segments, index) {
  let hard = 0;
  for (const other of placed) hard += overlapArea(box, other);
  for (const [px, py] of discs) hard += discOverlap(box, px, py, POINT_RADIUS + 1);
  const inside = { x: plot.x + 2, y: plot.y + 2, w: plot.s - 4, h: plot.s - 4 };
  hard += box.w * box.h - overlapArea(box, inside);
  let soft = 0;
  for (const segment of segments) if (segmentHitsBox(segment, box)) soft += 1;
  if (hard === 0 && soft === 0) return index === 0 ? 0 : 1e-6 * index;
  return hard * 1000 + soft * 100 + index * 0.01;
}

function overlapArea(a, b) {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

// How deep a disc reaches into a box (0 when apart): enough to rank and to forbid.
function discOverlap(box, px, py, r) {
  const nx = Math.min(Math.max(px, box.x), box.x + box.w);
  const ny = Math.min(Math.max(py, box.y), box.y + box.h);
  const gap = Math.hypot(px - nx, py - ny);
  return gap < r ? (r - gap) * 20 : 0;
}

// Liang-Barsky: whether the segment passes through the box.
function segmentHitsBox([[x1, y1], [x2, y2]], box) {
  let [t0, t1] = [0, 1];
  const [dx, dy] = [x2 - x1, y2 - y1];
  const edges = [[-dx, x1 - box.x], [dx, box.x + box.w - x1], [-dy, y1 - box.y], [dy, box.y + box.h - y1]];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return false;
    } else {
      const t = q / p;
      if (p < 0) t0 = Math.max(t0, t);
      else t1 = Math.min(t1, t);
      if (t0 > t1) return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------- the read-out

// Python's numbers at rest; the mirror's while the points differ; for a typed distance
// (no mirror) a note that the numbers come at the drop.
// InfoNCE's (`info`, from readInfoNCE) and the server's share keys (infonce_readout.py).
function drawReadout(inst, pts, atRest, info) {
  const { live, metric, reading } = inst.data;
  inst.readout.hidden = !live;
  inst.shown = null;
  if (!live) return;
  let source = "server";
  let values = reading;
  if (!atRest || !reading) {
    values = live.kind === "infonce" ? info
      : live.kind === "pair" ? readPair(metric, live, pts) : readTriplet(metric, live, pts);
    source = values ? "live" : "pending";
  }
  const fields = READOUT_FIELDS[live.kind].filter(([f]) => f !== "d_pn" || live.swap);
  inst.shown = { source, values, fields };
  const key = `${live.kind}|${fields.length}`;
  if (key !== inst.readoutKey) {
    inst.readoutKey = key;
    inst.readout.replaceChildren();
    inst.readoutEls = {};
    for (const [field, name] of fields) {
      const item = document.createElement("span");
      item.className = "lv-ro-item";
      item.dataset.field = field;
      const label = document.createElement("span");
      label.className = "lv-ro-name";
      label.textContent = name;
      const value = document.createElement("b");
      item.append(label, value);
      inst.readout.append(item);
      inst.readoutEls[field] = { item, value };
    }
    inst.readoutEls.badge = document.createElement("span");
    inst.readoutEls.badge.className = "lv-ro-badge";
    inst.readoutEls.note = document.createElement("span");
    inst.readoutEls.note.className = "lv-ro-note";
    inst.readout.append(inst.readoutEls.badge, inst.readoutEls.note);
  }
  const els = inst.readoutEls;
  inst.root.dataset.readoutSource = source;
  inst.root.dataset.readout = JSON.stringify(values ?? null);
  els.note.textContent = source === "live" ? "preview" : source === "pending" ? "numbers at the drop" : "";
  if (live.kind === "infonce") {
    for (const [field] of fields) els[field].value.textContent = infoNceText(field, values, live);
    els.badge.hidden = true; // no kinds: the hardest negative's share says it
    return;
  }
  for (const [field] of fields) {
    const v = values?.[field];
    els[field].value.textContent = values ? (Number.isFinite(v) ? v.toFixed(3) : "not finite") : "…";
  }
  if (live.swap && els.d_an) {
    const pn = Boolean(values?.swap_used);
    els.d_pn.item.classList.toggle("lv-ro-used", pn);
    els.d_an.item.classList.toggle("lv-ro-used", !pn);
  }
  const label = values ? (live.kind === "pair" ? values.term : values.kind) : null;
  const [text, color] = live.badges[label] ?? [values ? "not finite" : "…", "#8a8d96"];
  els.badge.textContent = text;
  els.badge.style.background = color;
  els.badge.style.color = inkOn(color);
  els.badge.dataset.label = label ?? "";
}

// One InfoNCE number as the read-out shows it: "undefined" where it is not a number (a
// point without a direction), the bound's absence off the circle said in words, the
// hardest negative as "N3 takes 71 %", tiny values (the bound at a low temperature) in
// scientific notation.
function infoNceText(field, values, live) {
  if (!values) return "…";
  if (field === "hardest") {
    const share = values.share;
    if (!values.hardest || !Number.isFinite(share)) return "undefined";
    return `${values.hardest} takes ${Math.round(share * 100)} %`;
  }
  const v = values[field];
  if (field === "bound" && !live.on_circle) return "none off the circle";
  if (!Number.isFinite(v)) return "undefined";
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toFixed(3);
}

function drawArrows(inst, pts, weights) {
  const { data, plot } = inst;
  const arrows = data.arrows ?? {};
  const names = Object.keys(arrows).filter((n) => pts[n]);
  syncNodes(inst.arrowEls, names, (name) => {
    const root = el("g", { class: "lv-arrow", "data-name": name }, inst.arrows);
    return { root, line: el("line", {}, root), head: el("polygon", {}, root) };
  });
  for (const name of names) {
    const { root, line, head } = inst.arrowEls.get(name);
    const [x1, y1] = toPx(plot, pts[name]);
    const [x2, y2] = toPx(plot, [pts[name][0] + arrows[name][0], pts[name][1] + arrows[name][1]]);
    const len = Math.hypot(x2 - x1, y2 - y1);
    root.style.display = len < 3 ? "none" : "";
    if (len < 3) continue;
    const [ux, uy] = [(x2 - x1) / len, (y2 - y1) / len];
    // A weighted point's arrow is as wide as its share (ARROW_WIDTH), its head to match.
    const share = weights?.[name];
    const width = Number.isFinite(share)
      ? ARROW_WIDTH[0] + (ARROW_WIDTH[1] - ARROW_WIDTH[0]) * Math.min(Math.max(share, 0), 1) : null;
    const headLength = Math.max(9, (width ?? 0) * 2);
    const [bx, by] = [x2 - ux * headLength, y2 - uy * headLength];
    set(line, { x1, y1, x2: bx, y2: by, stroke: data.colors[name] });
    line.style.strokeWidth = width === null ? "" : `${width.toFixed(2)}px`;
    root.dataset.width = width === null ? "" : width.toFixed(2);
    const half = Math.max(5, (width ?? 0) * 1.3); // half the head's width, across the shaft
    const [wx, wy] = [-uy * half, ux * half];
    const tip = `${x2},${y2} ${bx + wx},${by + wy} ${bx - wx},${by - wy}`;
    set(head, { points: tip, fill: data.colors[name] });
  }
}

function formatNumber(v) {
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(2);
}

// ---------------------------------------------------------------- animation

function startAnimation(inst, traj) {
  finishAnimation(inst);
  if (reducedMotion()) {
    // No motion: Python's final points (already adopted) are drawn by receive's redraw,
    // which then says the sentence (an announcement waiting for the read-out).
    inst.announceWaiting = ANIMATION_DONE;
    return;
  }
  inst.anim = { frames: traj.frames, frameMs: traj.frame_ms, t0: performance.now(), raf: 0 };
  inst.root.classList.add("lv-animating");
  inst.root.dataset.animating = "1";
  // Show the first frame at once: until the first tick the plane would otherwise show
  // (and report in data-points) the final positions that arrived with the data.
  inst.animPts = {};
  for (const name of Object.keys(inst.pts)) inst.animPts[name] = traj.frames[0][name] ?? inst.pts[name];
  const tick = (now) => {
    const { frames, frameMs, t0 } = inst.anim;
    const at = (now - t0) / frameMs;
    if (at >= frames.length - 1) {
      finishAnimation(inst);
      return announceNow(inst, ANIMATION_DONE);
    }
    const i = Math.max(0, Math.floor(at));
    const f = Math.max(0, at - i);
    inst.animPts = {};
    for (const name of Object.keys(inst.pts)) {
      const p = frames[i][name] ?? inst.pts[name];
      const q = frames[i + 1][name] ?? p;
      inst.animPts[name] = [p[0] + (q[0] - p[0]) * f, p[1] + (q[1] - p[1]) * f];
    }
    redraw(inst);
    inst.anim.raf = requestAnimationFrame(tick);
  };
  inst.anim.raf = requestAnimationFrame(tick);
}

// Ends (or cuts short) an animation and shows Python's final points. Sends nothing.
function finishAnimation(inst) {
  if (!inst.anim) return;
  cancelAnimationFrame(inst.anim.raf);
  inst.anim = null;
  inst.animPts = null;
  inst.root.classList.remove("lv-animating");
  inst.root.dataset.animating = "0";
  redraw(inst);
}

// Whether the user asks for less motion, asked at the time of each action (so that a
// change of the setting, or a test emulating it on an open page, counts at once).
function reducedMotion() {
  return Boolean(window.matchMedia?.("(prefers-reduced-motion: reduce)").matches);
}

// ---------------------------------------------------------------- announcements

// The sentence a screen reader hears after `name` moved: the read-out as it is shown (its
// own texts, so the numbers are the ones on screen) and the kind or term as a word, never
// a colour; where to, on the circle (its angle) or on a plane without a read-out (its
// coordinates). `name` may be a whole opening sentence (ANIMATION_DONE). Null while the
// read-out waits for Python's numbers (a typed distance), or with nothing to say.
function announcement(inst, name) {
  if (!inst.data) return null;
  const { live, circle } = inst.data;
  const pts = inst.animPts ?? inst.pts;
  const p = pts[name];
  let opening = p ? `${name} moved.` : name;
  if (p && circle) opening = `${name} moved to ${degrees(p)} degrees.`;
  else if (p && !live) opening = `${name} moved to (${p[0].toFixed(2)}, ${p[1].toFixed(2)}).`;
  if (!live) return p ? opening : null;
  const shown = inst.shown;
  if (!shown || shown.source === "pending" || !inst.readoutEls) return null;
  const text = (field) => inst.readoutEls[field]?.value.textContent ?? "";
  const parts = [];
  if (live.kind === "infonce") {
    parts.push(`loss ${text("loss")}`);
    const share = inst.shownWeights?.P;
    if (share !== undefined) {
      parts.push(`P takes ${Number.isFinite(share) ? `${Math.round(share * 100)} %` : "undefined"}`);
    }
    parts.push(`hardest negative ${text("hardest")}`);
  } else {
    for (const [field, label] of shown.fields) parts.push(`${label} ${text(field)}`);
    const values = shown.values;
    const word = live.kind === "pair" ? TERM_WORDS[values?.term] : values?.kind;
    parts.push(word ?? "not finite");
  }
  return `${opening} ${parts.join(", ")}.`;
}

// Says the sentence now (or once Python's numbers show, for a typed distance).
function announceNow(inst, name) {
  clearTimeout(inst.announceTimer);
  inst.announceTimer = 0;
  inst.announceDeadline = 0;
  const text = announcement(inst, name);
  if (text === null) {
    inst.announceWaiting = inst.data?.live ? name : null;
    return;
  }
  inst.announceWaiting = null;
  const node = inst.announcer;
  // The same words again are still a change (a screen reader says an unchanged region once).
  node.textContent = node.textContent === text ? `${text}\u00a0` : text;
  inst.lastAnnounceMs = performance.now();
  node.dataset.count = Number(node.dataset.count ?? 0) + 1;
}

// Arrow keys: once they pause for KEY_ANNOUNCE_QUIET_MS, and at the latest
// KEY_ANNOUNCE_MAX_MS after the first key not yet announced (a held key: about one a second).
function announceKey(inst, name) {
  const now = performance.now();
  if (!inst.announceDeadline) inst.announceDeadline = now + KEY_ANNOUNCE_MAX_MS;
  const wait = Math.max(0, Math.min(KEY_ANNOUNCE_QUIET_MS, inst.announceDeadline - now));
  clearTimeout(inst.announceTimer);
  inst.announceTimer = setTimeout(() => announceNow(inst, name), wait); // clears the deadline
}

// A drag: now if the last sentence is DRAG_ANNOUNCE_MS old, else when it will be (the
// points of that moment); the drop always says its own.
function announceDrag(inst, name) {
  if (inst.announceTimer) return;
  const wait = inst.lastAnnounceMs + DRAG_ANNOUNCE_MS - performance.now();
  if (wait <= 0) announceNow(inst, name);
  else inst.announceTimer = setTimeout(() => {
    if (inst.drag?.name === name) announceNow(inst, name);
    else inst.announceTimer = 0;
  }, wait);
}

// ---------------------------------------------------------------- input

function sendPoints(inst) {
  clearTimeout(inst.keyTimer);
  inst.dirty = false;
  const seq = Math.max(Date.now(), inst.lastSentSeq + 1); // grows across remounts too
  inst.lastSentSeq = seq;
  const value = { seq };
  for (const [name, [x, y]] of Object.entries(inst.pts)) {
    value[name] = [Math.round(x * 1e6) / 1e6, Math.round(y * 1e6) / 1e6];
  }
  inst.sentCount += 1;
  inst.root.dataset.sentCount = inst.sentCount;
  inst.root.dataset.lastSentMs = performance.now();
  markStale(inst);
  inst.setStateValue("points", value);
}

// Arrows are Python's, computed for its points: hidden while ours differ from them
// (a drag, unsent arrow-key moves, a send Python has not answered yet).
function markStale(inst) {
  const stale = inst.drag || inst.dirty || inst.lastSentSeq > (inst.ack ?? 0);
  inst.root.classList.toggle("lv-stale", Boolean(stale));
}

// The point of the unit circle in the direction of `p` from the origin; `previous`'s
// direction when `p` has none (the exact centre), [1, 0] when neither has.
function onCircle(p, previous) {
  for (const [x, y] of [p, previous]) {
    const r = Math.sqrt(x * x + y * y);
    if (r > NO_DIRECTION && Number.isFinite(r)) return [x / r, y / r];
  }
  return [1, 0];
}

// A point's angle on the circle, in whole degrees from +x, counterclockwise, 0 to 359.
function degrees([x, y]) {
  return (Math.round((Math.atan2(y, x) * 180) / Math.PI) + 360) % 360;
}

function pointName(target) {
  return target?.closest?.(".lv-point")?.dataset.name ?? null;
}

function endDrag(inst, pointerId) {
  const drag = inst.drag;
  if (!drag || drag.pointerId !== pointerId) return;
  inst.drag = null;
  inst.root.classList.remove("lv-dragging");
  if (drag.moved) {
    sendPoints(inst);
    announceNow(inst, drag.name);
  } else {
    markStale(inst); // a click without a move sends nothing
  }
}

function assignHandlers(inst) {
  const { svg } = inst;
  svg.onpointerdown = (e) => {
    const name = pointName(e.target);
    if (!name || e.button > 0 || inst.drag || inst.data?.static) return;
    e.preventDefault(); // no text selection, no touch scrolling
    finishAnimation(inst);
    const [x, y] = toData(inst, e.clientX, e.clientY);
    const [px, py] = inst.pts[name];
    inst.drag = { name, pointerId: e.pointerId, dx: px - x, dy: py - y, moved: false };
    svg.setPointerCapture(e.pointerId);
    inst.pointEls.get(name)?.root.focus({ preventScroll: true });
    inst.root.classList.add("lv-dragging");
    markStale(inst);
  };
  svg.onpointermove = (e) => {
    const drag = inst.drag;
    if (!drag || drag.pointerId !== e.pointerId) return;
    const [x, y] = toData(inst, e.clientX, e.clientY);
    inst.pts[drag.name] = inst.data.circle
      ? onCircle([x, y], inst.pts[drag.name]) // where the pointer's direction meets the circle
      : clamp([x + drag.dx, y + drag.dy], inst.plot);
    drag.moved = true;
    redraw(inst); // live preview only: nothing is sent during a drag
    announceDrag(inst, drag.name);
  };
  // Chromium ignores `touch-action` on SVG children: a touch that starts on a point
  // would pan the page (and cancel the drag). Elsewhere on the plane the page scrolls.
  svg.ontouchstart = (e) => {
    if (pointName(e.target) && !inst.data?.static) e.preventDefault();
  };
  svg.onpointerup = (e) => endDrag(inst, e.pointerId);
  svg.onpointercancel = (e) => endDrag(inst, e.pointerId);
  svg.onlostpointercapture = (e) => endDrag(inst, e.pointerId);
  svg.onkeydown = (e) => {
    const name = pointName(e.target);
    const dir = KEYS[e.key];
    if (!name || !dir || inst.drag || inst.data?.static) return;
    e.preventDefault(); // arrows would scroll the page
    finishAnimation(inst);
    const [x, y] = inst.pts[name];
    if (inst.data.circle) {
      // Right and up turn it counterclockwise, left and down clockwise.
      const degreesPerKey = e.shiftKey ? ANGLE_STEP_SHIFT : ANGLE_STEP;
      const turn = degreesPerKey * (dir[0] + dir[1]) * (Math.PI / 180);
      const [ux, uy] = onCircle([x, y], [x, y]);
      const angle = Math.atan2(uy, ux) + turn;
      inst.pts[name] = [Math.cos(angle), Math.sin(angle)];
    } else {
      const step = (inst.plot.hi - inst.plot.lo) * (e.shiftKey ? 0.1 : 0.01);
      inst.pts[name] = clamp([x + dir[0] * step, y + dir[1] * step], inst.plot);
    }
    inst.dirty = true;
    markStale(inst);
    redraw(inst);
    clearTimeout(inst.keyTimer);
    inst.keyTimer = setTimeout(() => sendPoints(inst), KEY_SEND_DELAY_MS);
    announceKey(inst, name);
  };
  svg.onfocusout = () => {
    if (inst.dirty) sendPoints(inst);
  };
}

// ---------------------------------------------------------------- downloads

function downloadButtons(inst) {
  const tools = document.createElement("div");
  tools.className = "lv-tools";
  for (const format of ["svg", "png"]) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "lv-tool";
    button.dataset.download = format;
    button.title = `Download the plane as ${format.toUpperCase()}`;
    button.textContent = `⤓ ${format.toUpperCase()}`;
    button.onclick = () => download(inst, format);
    tools.append(button);
  }
  return tools;
}

// Styles the SVG needs outside this page (our CSS stays in the shadow root).
const EXPORTED_STYLES = ["fill", "fill-opacity", "stroke", "stroke-width", "stroke-dasharray",
  "stroke-linejoin", "opacity", "font-family", "font-size", "font-weight", "paint-order",
  "text-anchor", "dominant-baseline", "display"];
const READOUT_BAND = 26; // px above the plot in an export: the read-out as text
const READOUT_LINE = 18; // px per further line, when the read-out is wider than the plane

// The plane as a standalone SVG document: what is on screen, regions included (the
// cell grid of a typed distance as an embedded image), with the read-out on top.
export function planeSvg(inst) {
  const side = Number(inst.svg.getAttribute("width"));
  const clone = inst.svg.cloneNode(true);
  const originals = [inst.svg, ...inst.svg.querySelectorAll("*")];
  const copies = [clone, ...clone.querySelectorAll("*")];
  originals.forEach((node, i) => {
    const style = getComputedStyle(node);
    const inline = EXPORTED_STYLES.map((name) => `${name}:${style.getPropertyValue(name)}`);
    copies[i].setAttribute("style", inline.join(";"));
  });
  for (const point of clone.querySelectorAll(".lv-point")) point.removeAttribute("tabindex");
  const fontFamily = getComputedStyle(inst.root).fontFamily;
  const lines = inst.readout.hidden ? [""] : readoutLines(inst, side - MARGIN.left - 4, fontFamily);
  const band = READOUT_BAND + (lines.length - 1) * READOUT_LINE;
  const doc = el("svg", { width: side, height: side + band, viewBox: `0 0 ${side} ${side + band}` });
  const theme = themeColors(inst.root); // the export looks as the screen does, light or dark
  el("rect", { x: 0, y: 0, width: side, height: side + band, fill: theme.background }, doc);
  lines.forEach((line, i) => {
    const text = el("text", { x: MARGIN.left, y: 17 + i * READOUT_LINE, "font-size": 13,
      "font-family": fontFamily, fill: theme.text }, doc);
    // Keep the gaps between the items (SVG collapses runs of spaces otherwise).
    text.setAttributeNS("http://www.w3.org/XML/1998/namespace", "xml:space", "preserve");
    text.textContent = line;
  });
  const body = el("g", { transform: `translate(0 ${band})` }, doc);
  if (!inst.canvas.hidden && inst.canvas.width) {
    const { x, y, s } = inst.plot;
    const href = inst.canvas.toDataURL("image/png");
    const image = el("image", { href, x, y, width: s, height: s, preserveAspectRatio: "none",
      style: `image-rendering:pixelated;opacity:${getComputedStyle(inst.canvas).opacity}` }, body);
    image.setAttributeNS("http://www.w3.org/1999/xlink", "xlink:href", href); // older viewers
  }
  clone.removeAttribute("class");
  body.appendChild(clone);
  return new XMLSerializer().serializeToString(doc);
}

// The read-out as lines of text at most `width` px wide (13 px type), items kept whole.
function readoutLines(inst, width, fontFamily) {
  const items = [...inst.readout.querySelectorAll(".lv-ro-item")].map((item) => (
    item.dataset.field === "hardest" ? item.lastChild.textContent
      : `${item.firstChild.textContent} = ${item.lastChild.textContent}`));
  const badge = inst.readout.querySelector(".lv-ro-badge:not([hidden])")?.textContent ?? "";
  const ctx = document.createElement("canvas").getContext("2d");
  ctx.font = `13px ${fontFamily || "sans-serif"}`;
  const lines = [];
  for (const part of [...items, badge].filter(Boolean)) {
    const joined = lines.length ? `${lines.at(-1)}   ${part}` : part;
    if (lines.length && ctx.measureText(joined).width <= width) lines[lines.length - 1] = joined;
    else lines.push(part);
  }
  return lines.length ? lines : [""];
}

async function download(inst, format) {
  const svg = planeSvg(inst);
  const name = `${inst.data.download_name}.${format}`;
  let blob = new Blob([svg], { type: "image/svg+xml" });
  if (format === "png") blob = await rasterize(blob, 2);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  inst.root.dataset.downloads = Number(inst.root.dataset.downloads ?? 0) + 1;
}

// An SVG blob drawn on a canvas at `scale` times its size: a PNG blob for slides.
async function rasterize(svgBlob, scale) {
  const url = URL.createObjectURL(svgBlob);
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(image.width * scale);
    canvas.height = Math.round(image.height * scale);
    const ctx = canvas.getContext("2d");
    ctx.scale(scale, scale);
    ctx.drawImage(image, 0, 0);
    return await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  } finally {
    URL.revokeObjectURL(url);
  }
}
