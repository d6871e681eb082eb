// The loss heatmap of lossviz/ui/components/heatmap.py (Streamlit Custom Components v2).
//
// A square grid of values over [lo, hi]^2 (first row at the top), packed as uint16
// levels of [0, zmax], drawn as an image in a colour scale, with axes, a colour bar,
// the white line where the value leaves 0, labelled points, and the value under the
// pointer. Nothing is sent back to Python. The zero line is exact when the data bring
// its geometry (`zero_balls`: the border of their union, drawn with mirror.js's
// ballOutline); else it is traced on the grid (marching squares).
//
// Streamlit calls the default export again on every data change: the DOM is built once
// per parentElement and only redrawn.

import { ballOutline, outlinePath } from "./mirror.js";
import { themeColors } from "./theme.js";

const MARGIN = { left: 40, right: 64, top: 28, bottom: 30 };
const views = new WeakMap();

export default function (component) {
  const { parentElement } = component;
  const data = parse(component.data);
  let view = views.get(parentElement);
  if (!view) {
    view = build(parentElement);
    views.set(parentElement, view);
  }
  view.data = data;
  view.grid = decodeLevels(data.levels, data.zmax);
  view.contour = zeroContour(view.grid, data.size);
  draw(view);
  return () => {
    setTimeout(() => {
      if (view.root.isConnected) return;
      view.resizeObserver.disconnect();
      views.delete(parentElement);
    }, 200);
  };
}

// lossviz sends its data as JSON bytes (lossviz/ui/components/wire.py): a Uint8Array here.
function parse(raw) {
  return raw instanceof Uint8Array ? JSON.parse(new TextDecoder().decode(raw)) : raw;
}

// uint16 levels (little-endian, base64) -> values in [0, zmax].
export function decodeLevels(levels, zmax) {
  const bytes = Uint8Array.from(atob(levels), (c) => c.charCodeAt(0));
  const dv = new DataView(bytes.buffer);
  const out = new Float64Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (dv.getUint16(2 * i, true) / 65535) * zmax;
  return out;
}

function build(parentElement) {
  const root = document.createElement("div");
  root.className = "lv-heatmap";
  const canvas = document.createElement("canvas");
  const tip = document.createElement("div");
  tip.className = "lv-tip";
  tip.hidden = true;
  root.append(canvas, tip);
  parentElement.appendChild(root);
  const view = { root, canvas, tip, width: 0 };
  view.resizeObserver = new ResizeObserver(() => {
    if (root.clientWidth !== view.width) requestAnimationFrame(() => draw(view));
  });
  view.resizeObserver.observe(root);
  canvas.onpointermove = (event) => hover(view, event);
  canvas.onpointerleave = () => {
    tip.hidden = true;
  };
  return view;
}

function geometry(view) {
  const width = Math.max(200, Math.min(view.root.clientWidth || 480, view.data.max_px));
  const side = width - MARGIN.left - MARGIN.right;
  return { width, height: side + MARGIN.top + MARGIN.bottom, side };
}

function toPx(view, x, y) {
  const { lo, hi } = view.data;
  const { side } = view.geom;
  const k = side / (hi - lo);
  return [MARGIN.left + (x - lo) * k, MARGIN.top + (hi - y) * k];
}

function color(stops, t) {
  const x = Math.min(Math.max(t, 0), 1) * (stops.length - 1);
  const i = Math.min(Math.floor(x), stops.length - 2);
  const f = x - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * f));
}

function draw(view) {
  const { data, canvas } = view;
  // A text alternative (WCAG 1.1.1): what the picture is, from its own title.
  canvas.setAttribute("role", "img");
  canvas.setAttribute(
    "aria-label",
    `Heatmap: ${data.title}, over the whole plane; a white line marks where it reaches zero.`,
  );
  // Text and frame in the theme's colours (read on every draw: a theme change redraws).
  view.theme = themeColors(view.root);
  view.root.dataset.textColor = view.theme.muted;
  view.width = view.root.clientWidth;
  view.geom = geometry(view);
  const { width, height, side } = view.geom;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const n = data.size;
  const stops = data.colormap;
  const image = new ImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const rgb = color(stops, data.zmax > 0 ? view.grid[i] / data.zmax : 0);
    image.data.set([...rgb, 255], 4 * i);
  }
  const cells = document.createElement("canvas");
  cells.width = cells.height = n;
  cells.getContext("2d").putImageData(image, 0, 0);
  // Smoothed: the cells blend into a continuous surface under the exact zero line.
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(cells, MARGIN.left, MARGIN.top, side, side);
  ctx.strokeStyle = view.theme.frame;
  ctx.strokeRect(MARGIN.left + 0.5, MARGIN.top + 0.5, side, side);
  drawAxes(view, ctx);
  if (data.zero_balls) drawUnionBorder(view, ctx, data.zero_balls);
  else drawContour(view, ctx);
  drawPoints(view, ctx);
  drawColorbar(view, ctx);
  ctx.fillStyle = view.theme.muted;
  ctx.font = "14px sans-serif";
  ctx.textAlign = "center";
  ctx.fillText(data.title, MARGIN.left + side / 2, 18);
}

function niceStep(span, target) {
  const raw = span / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw * 0.99);
}

function drawAxes(view, ctx) {
  const { lo, hi } = view.data;
  const textColor = view.theme.muted;
  const { side } = view.geom;
  const step = niceStep(hi - lo, 4);
  ctx.fillStyle = textColor;
  ctx.font = "11px sans-serif";
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) {
    const [px, py] = toPx(view, v, v);
    const label = String(Math.round(v * 1e6) / 1e6);
    ctx.textAlign = "center";
    ctx.fillText(label, px, MARGIN.top + side + 16);
    ctx.textAlign = "right";
    ctx.fillText(label, MARGIN.left - 6, py + 4);
  }
}

// The border between cells at 0 and cells above it, by marching squares on cell centres
// with linear interpolation: the easy border of the landscape.
export function zeroContour(grid, n, threshold = 1e-9) {
  const segments = [];
  const at = (r, c) => grid[r * n + c] - threshold;
  const lerp = (a, b) => a / (a - b);
  for (let r = 0; r < n - 1; r++) {
    for (let c = 0; c < n - 1; c++) {
      const v = [at(r, c), at(r, c + 1), at(r + 1, c + 1), at(r + 1, c)];
      const edges = [];
      // Edges: top (0-1), right (1-2), bottom (3-2), left (0-3), in (row, col) units.
      const pairs = [[0, 1, (t) => [r, c + t]], [1, 2, (t) => [r + t, c + 1]],
        [3, 2, (t) => [r + 1, c + t]], [0, 3, (t) => [r + t, c]]];
      for (const [i, j, point] of pairs) {
        if ((v[i] > 0) !== (v[j] > 0)) edges.push(point(lerp(v[i], v[j])));
      }
      if (edges.length === 2) segments.push(edges);
      else if (edges.length === 4) segments.push([edges[0], edges[1]], [edges[2], edges[3]]);
    }
  }
  return segments;
}

function drawContour(view, ctx) {
  view.root.dataset.zeroLine = "grid";
  const { lo, hi, size: n } = view.data;
  const cell = (hi - lo) / n;
  ctx.save();
  ctx.strokeStyle = "#ffffff";
  ctx.lineWidth = 2;
  ctx.beginPath();
  for (const [[r0, c0], [r1, c1]] of view.contour) {
    const [x0, y0] = toPx(view, lo + (c0 + 0.5) * cell, hi - (r0 + 0.5) * cell);
    const [x1, y1] = toPx(view, lo + (c1 + 0.5) * cell, hi - (r1 + 0.5) * cell);
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
  }
  ctx.stroke();
  ctx.restore();
}

// The border of a union of balls: each ball's outline, clipped to the plot and to the
// outside of every other ball (clips intersect, one even-odd rectangle-with-a-hole each).
function drawUnionBorder(view, ctx, balls) {
  const { side } = view.geom;
  const { lo, hi } = view.data;
  const plot = { x: MARGIN.left, y: MARGIN.top, s: side };
  const toPlot = ([x, y]) => toPx(view, x, y);
  const paths = balls.map((ball) => outlinePath(ballOutline(ball, toPlot, side / (hi - lo), plot), plot));
  const far = `M-1e5,-1e5H1e5V1e5H-1e5Z`;
  ctx.save();
  ctx.strokeStyle = "#ffffff";
  ctx.lineWidth = 2;
  paths.forEach((path, i) => {
    if (!path) return;
    ctx.save();
    ctx.beginPath();
    ctx.rect(plot.x, plot.y, side, side);
    ctx.clip();
    paths.forEach((other, j) => {
      if (j !== i && other) ctx.clip(new Path2D(far + other), "evenodd");
    });
    ctx.stroke(new Path2D(path));
    ctx.restore();
  });
  ctx.restore();
  view.root.dataset.zeroLine = "exact";
}

function drawPoints(view, ctx) {
  ctx.font = "bold 14px sans-serif";
  ctx.textAlign = "left";
  for (const point of view.data.points) {
    const [px, py] = toPx(view, point.x, point.y);
    ctx.beginPath();
    ctx.arc(px, py, 6, 0, 2 * Math.PI);
    ctx.fillStyle = point.color;
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#ffffff";
    ctx.stroke();
    ctx.fillStyle = "#ffffff";
    ctx.fillText(point.name, px + 9, py - 7); // textContent-safe: canvas text is not markup
  }
}

function drawColorbar(view, ctx) {
  const { zmax, colormap, value_label: label } = view.data;
  const textColor = view.theme.muted;
  const { side } = view.geom;
  const x = MARGIN.left + side + 14;
  const w = 12;
  for (let i = 0; i < side; i++) {
    const rgb = color(colormap, 1 - i / side);
    ctx.fillStyle = `rgb(${rgb.join(",")})`;
    ctx.fillRect(x, MARGIN.top + i, w, 1.5);
  }
  ctx.fillStyle = textColor;
  ctx.font = "11px sans-serif";
  ctx.textAlign = "left";
  const step = zmax > 0 ? niceStep(zmax, 4) : 1;
  for (let v = 0; v <= zmax + 1e-12; v += step) {
    const y = MARGIN.top + side - (zmax > 0 ? (v / zmax) * side : 0);
    ctx.fillText(String(Math.round(v * 1e4) / 1e4), x + w + 4, y + 4);
  }
  ctx.fillText(label, x - 2, MARGIN.top - 8);
}

function hover(view, event) {
  const { lo, hi, size: n } = view.data;
  const box = view.canvas.getBoundingClientRect();
  const { side } = view.geom;
  const u = (event.clientX - box.left - MARGIN.left) / side;
  const w = (event.clientY - box.top - MARGIN.top) / side;
  if (u < 0 || u >= 1 || w < 0 || w >= 1) {
    view.tip.hidden = true;
    return;
  }
  const x = lo + u * (hi - lo);
  const y = hi - w * (hi - lo);
  const value = view.grid[Math.floor(w * n) * n + Math.floor(u * n)];
  view.tip.textContent = `${view.data.hover_name} at (${x.toFixed(2)}, ${y.toFixed(2)}): ` +
    `${view.data.value_label} = ${value.toFixed(3)}`;
  view.tip.hidden = false;
  view.tip.style.left = `${event.clientX - box.left + 12}px`;
  view.tip.style.top = `${event.clientY - box.top + 12}px`;
}
