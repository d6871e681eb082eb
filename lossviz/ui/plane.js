// The draggable plane of lossviz/ui/plane.py (Streamlit Custom Components v2).
//
// Streamlit calls the default export on mount and AGAIN on every data or theme
// change; the cleanup it returns runs on unmount. So: one instance per
// parentElement (a WeakMap), DOM built once, handlers ASSIGNED once (never
// addEventListener per call, which stacks), and every call only stores the new
// data and redraws. Python's session state is the truth: we send the points on
// pointer-up (or after a pause in arrow-key moves) and adopt whatever points
// Python sends back, except while the user is moving one.

const SVG_NS = "http://www.w3.org/2000/svg";
const MARGIN = { left: 40, right: 12, top: 12, bottom: 30 }; // left+right = top+bottom: square plot
const ROLES = { A: "anchor", P: "positive", N: "negative" };
const KEY_SEND_DELAY_MS = 400;
const KEYS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };

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

// lossviz sends its data as JSON bytes (lossviz/ui/wire.py): a Uint8Array here.
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
  const stage = document.createElement("div");
  stage.className = "lv-stage";
  const canvas = document.createElement("canvas");
  canvas.className = "lv-regions";
  const svg = el("svg", { class: "lv-svg" });
  const layer = (cls) => el("g", { class: cls }, svg);
  const inst = {
    root, stage, canvas, svg,
    plotRect: el("rect", { class: "lv-plot-rect" }, svg),
    grid: layer("lv-grid"), lines: layer("lv-lines"), arrows: layer("lv-arrows"),
    points: layer("lv-points"),
    caption: document.createElement("div"),
    data: null, pts: {}, animPts: null, plot: null, layoutKey: "", regionsKey: "", width: 0,
    drag: null, dirty: false, keyTimer: 0, lastSentSeq: 0, sentCount: 0, anim: null,
    pointEls: new Map(), lineEls: new Map(), arrowEls: new Map(),
  };
  inst.caption.className = "lv-caption";
  stage.append(canvas, svg);
  root.append(stage, inst.caption);
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
  Object.assign(inst.canvas.style, {
    left: `${MARGIN.left}px`, top: `${MARGIN.top}px`, width: `${s}px`, height: `${s}px`,
  });
  drawGrid(inst);
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
  drawLines(inst, pts);
  drawArrows(inst, pts);
  drawPoints(inst, pts);
  inst.root.dataset.points = JSON.stringify(pts);
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
  const [cx, cy] = centroidPx(plot, pts);
  const names = Object.keys(pts);
  syncNodes(inst.pointEls, names, (name) => {
    const attrs = { class: "lv-point", tabindex: "0", role: "button", "data-name": name };
    const root = el("g", attrs, inst.points);
    return {
      root,
      ring: el("circle", { class: "lv-ring", r: 15 }, root),
      dot: el("circle", { class: "lv-dot", r: 8 }, root),
      label: el("text", { class: "lv-label" }, root),
    };
  });
  for (const name of names) {
    const { root, dot, label } = inst.pointEls.get(name);
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
    const text = data.labels[name] ?? name;
    label.textContent = text; // text only: a label is never parsed as HTML
    // Away from the centroid (where the lines run), but inside the plane.
    const left = (px < cx || px > plot.x + plot.s - 90) && px > plot.x + 90;
    const above = (py <= cy || py > plot.y + plot.s - 20) && py > plot.y + 20;
    set(label, { x: left ? -13 : 13, y: above ? -10 : 20, "text-anchor": left ? "end" : "start" });
    const role = ROLES[name] ? `${ROLES[name]} ` : "point ";
    root.setAttribute("aria-label", `${role}${name} at (${x.toFixed(2)}, ${y.toFixed(2)})`);
  }
}

function drawLines(inst, pts) {
  const { data, plot } = inst;
  const pairs = data.lines.filter(([a, b]) => pts[a] && pts[b]);
  syncNodes(inst.lineEls, pairs.map((p) => p.join("|")), () => {
    const root = el("g", { class: "lv-pair" }, inst.lines);
    const line = el("line", { class: "lv-line" }, root);
    return { root, line, text: el("text", { class: "lv-dist" }, root) };
  });
  const [cx, cy] = centroidPx(plot, pts);
  for (const [a, b] of pairs) {
    const { line, text } = inst.lineEls.get(`${a}|${b}`);
    const [x1, y1] = toPx(plot, pts[a]);
    const [x2, y2] = toPx(plot, pts[b]);
    const color = data.colors[b];
    set(line, { x1, y1, x2, y2, stroke: color });
    const d = distance(data.metric, pts[a], pts[b]);
    text.textContent = d === null ? "" : `d(${a},${b}) = ${formatNumber(d)}`;
    // The label sits beside the midpoint, on the side away from the points' centroid
    // (outside the triangle), so two lines from A do not stack their labels.
    const [mx, my] = [(x1 + x2) / 2, (y1 + y2) / 2];
    const len = Math.hypot(x2 - x1, y2 - y1) || 1;
    let [nx, ny] = [-(y2 - y1) / len, (x2 - x1) / len];
    if (nx * (mx - cx) + ny * (my - cy) < 0) [nx, ny] = [-nx, -ny];
    set(text, { x: mx + nx * 14, y: my + ny * 14 + 4 });
    text.style.fill = `color-mix(in srgb, ${color} 60%, black)`; // darker: readable on regions
  }
}

function drawArrows(inst, pts) {
  const { data, plot } = inst;
  const arrows = data.arrows ?? {};
  const names = Object.keys(arrows).filter((n) => pts[n]);
  syncNodes(inst.arrowEls, names, () => {
    const root = el("g", { class: "lv-arrow" }, inst.arrows);
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
    const [bx, by] = [x2 - ux * 9, y2 - uy * 9]; // base of a 9 px head
    set(line, { x1, y1, x2: bx, y2: by, stroke: data.colors[name] });
    const [wx, wy] = [-uy * 5, ux * 5]; // half the head's width, across the shaft
    const tip = `${x2},${y2} ${bx + wx},${by + wy} ${bx - wx},${by - wy}`;
    set(head, { points: tip, fill: data.colors[name] });
  }
}

// torch's conventions: pairwise_distance adds eps to the difference; cosine clamps
// norms at 1e-8. "none" (a custom distance) has no number. Exported for tests/test_plane.py.
export function distance(metric, a, b) {
  if (!metric || metric.kind === "none") return null;
  const dx = a[0] - b[0] + metric.eps;
  const dy = a[1] - b[1] + metric.eps;
  if (metric.kind === "squared") return dx * dx + dy * dy;
  if (metric.kind === "cosine") {
    const n = Math.max(Math.hypot(...a), 1e-8) * Math.max(Math.hypot(...b), 1e-8);
    return 1 - (a[0] * b[0] + a[1] * b[1]) / n;
  }
  const p = metric.p === "inf" ? Infinity : metric.p;
  if (p === Infinity) return Math.max(Math.abs(dx), Math.abs(dy));
  return (Math.abs(dx) ** p + Math.abs(dy) ** p) ** (1 / p);
}

function formatNumber(v) {
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(2);
}

// ---------------------------------------------------------------- animation

function startAnimation(inst, traj) {
  finishAnimation(inst);
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
    if (at >= frames.length - 1) return finishAnimation(inst);
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

function pointName(target) {
  return target?.closest?.(".lv-point")?.dataset.name ?? null;
}

function endDrag(inst, pointerId) {
  const drag = inst.drag;
  if (!drag || drag.pointerId !== pointerId) return;
  inst.drag = null;
  inst.root.classList.remove("lv-dragging");
  if (drag.moved) sendPoints(inst);
  else markStale(inst); // a click without a move sends nothing
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
    inst.pts[drag.name] = clamp([x + drag.dx, y + drag.dy], inst.plot);
    drag.moved = true;
    redraw(inst); // live preview only: nothing is sent during a drag
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
    const step = (inst.plot.hi - inst.plot.lo) * (e.shiftKey ? 0.1 : 0.01);
    const [x, y] = inst.pts[name];
    inst.pts[name] = clamp([x + dir[0] * step, y + dir[1] * step], inst.plot);
    inst.dirty = true;
    markStale(inst);
    redraw(inst);
    clearTimeout(inst.keyTimer);
    inst.keyTimer = setTimeout(() => sendPoints(inst), KEY_SEND_DELAY_MS);
  };
  svg.onfocusout = () => {
    if (inst.dirty) sendPoints(inst);
  };
}
