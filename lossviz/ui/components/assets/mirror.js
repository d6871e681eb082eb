// The core's definitions in the browser: what the plane shows while a point moves.
//
// A mirror of lossviz.distances, lossviz.losses.triplet_margin_loss /
// contrastive_loss, lossviz.triplets.classify, lossviz.outlines and
// lossviz.core.circle_reading.read_circle (InfoNCE), in float64 (JS numbers), computed
// in the same order as torch so that the numbers agree to rounding
// (tests/browser/test_mirror_browser.py checks thousands of random scenes against the
// torch core). Imported by plane.js and heatmap.js; everything here is a pure function.
//
// metric: {kind: "lp" | "cosine" | "squared" | "none", p: number | "inf", eps}
// loss:   {kind: "triplet", margin, swap} or {kind: "pair", margin, similar, inverted}
//         or {kind: "infonce", temperature, on_circle}
// A ball: {kind: "lp", c: [x, y], r, p} or {kind: "cosine", c: [x, y], r}
//         ({n : d(c, n) <= r}; an "lp" centre is already shifted by eps).

const COSINE_NORM_FLOOR = 1e-8; // as F.cosine_similarity: norms below it are clamped
const AXES = [[1, 0], [0, 1], [-1, 0], [0, -1]];

function order(p) {
  return p === "inf" ? Infinity : p;
}

// torch.pairwise_distance adds eps to the difference a - b; cosine clamps each norm.
// "none" (a typed distance) has no number here: the server computes it.
export function distance(metric, a, b) {
  if (!metric || metric.kind === "none") return null;
  if (metric.kind === "cosine") {
    const n = Math.max(Math.sqrt(a[0] * a[0] + a[1] * a[1]), COSINE_NORM_FLOOR) *
      Math.max(Math.sqrt(b[0] * b[0] + b[1] * b[1]), COSINE_NORM_FLOOR);
    return 1 - (a[0] * b[0] + a[1] * b[1]) / n;
  }
  const dx = a[0] - b[0] + metric.eps;
  const dy = a[1] - b[1] + metric.eps;
  if (metric.kind === "squared") return dx * dx + dy * dy;
  return lpNorm(dx, dy, order(metric.p));
}

function lpNorm(dx, dy, p) {
  const ax = Math.abs(dx);
  const ay = Math.abs(dy);
  if (p === Infinity) return Math.max(ax, ay);
  if (p === 2) return Math.sqrt(ax * ax + ay * ay); // as torch: no rescaling
  if (p === 1) return ax + ay;
  return (ax ** p + ay ** p) ** (1 / p);
}

// lossviz.triplets.classify: hard if delta <= 0, semi-hard if delta <= margin, else easy.
export function classify(dAp, dAn, margin) {
  const delta = dAn - dAp;
  if (Number.isNaN(delta)) return null;
  if (delta <= 0) return "hard";
  return delta <= margin ? "semi-hard" : "easy";
}

function finite(values) {
  return values.every((v) => Number.isFinite(v));
}

// lossviz.playground.read_triplet without the gradients: {d_ap, d_an, d_pn, d_an_used,
// swap_used, loss, kind}; kind null when a number is not finite; null for "none".
export function readTriplet(metric, loss, pts) {
  const [a, p, n] = [pts.A, pts.P, pts.N];
  const dAp = distance(metric, a, p);
  if (dAp === null) return null;
  const dAn = distance(metric, a, n);
  const dPn = distance(metric, p, n);
  const used = loss.swap ? Math.min(dAn, dPn) : dAn;
  const value = Math.max(dAp + loss.margin - used, 0); // torch: (d_ap + margin) - d_an
  const ok = finite([dAp, dAn, dPn, value]);
  return {
    d_ap: dAp, d_an: dAn, d_pn: dPn, d_an_used: used,
    swap_used: Boolean(loss.swap) && dPn < dAn,
    loss: value,
    kind: ok ? classify(dAp, used, loss.margin) : null,
  };
}

// lossviz.pairs.read_pair without the gradients: {d, loss, term}. The inverted snippet
// fed label = similar computes the loss of the other label.
export function readPair(metric, loss, pts) {
  const d = distance(metric, pts.X1, pts.X2);
  if (d === null) return null;
  const similar = Boolean(loss.similar) !== Boolean(loss.inverted);
  const push = Math.max(loss.margin - d, 0);
  const value = similar ? d * d : push * push;
  const term = similar ? "pull" : d < loss.margin ? "push" : "none";
  return { d, loss: value, term: finite([d, value]) ? term : null };
}

// ---------------------------------------------------------------- InfoNCE

const ZERO_NORM = 1e-12; // lossviz.core.softmax_contrastive: a shorter point has no direction
const MAX_NEGATIVES = 16;

// The candidates' names as read_circle takes them: A, P, N1 ... Nk (k from 1 to 16).
export function infoNceNames(pts) {
  const names = ["A", "P"];
  for (let k = 1; k <= MAX_NEGATIVES && pts[`N${k}`]; k++) names.push(`N${k}`);
  return names;
}

// torch.logsumexp: max + log(sum(exp(x - max))), and the exps (for the softmax).
function logSumExp(values) {
  const max = Math.max(...values);
  if (!Number.isFinite(max)) return { lse: max, exps: null, sum: NaN };
  const exps = values.map((v) => Math.exp(v - max));
  const sum = exps.reduce((s, e) => s + e, 0);
  return { lse: max + Math.log(sum), exps, sum };
}

// torch.linalg.vector_norm of a 2-D point, as torch computes it (no rescaling).
function norm2([x, y]) {
  return Math.sqrt(x * x + y * y);
}

// lossviz.core.circle_reading.read_circle without the gradients, under the server's
// read-out keys (lossviz/ui/components/infonce_readout.py): {loss, bound, hardest,
// share, alignment, uniformity}, plus {names, weights, similarities} (weights and
// similarities: the positive's first, then N1 ... Nk; names: theirs). On the circle each
// point is normalised and s is the cosine; off it, raw dot products (then bound is
// null: there is none). Everything in the log-sum-exp form: finite at tau = 0.01. A
// point without a direction (on the circle) or a number that is not finite gives null
// numbers, hardest "" and weights null: "undefined", never NaN.
export function readInfoNCE(loss, pts) {
  const names = infoNceNames(pts);
  const k = names.length - 2;
  const tau = loss.temperature;
  const bound = loss.on_circle ? Math.log1p(k * Math.exp(-2 / tau)) : null;
  const undefinedReading = {
    names: names.slice(1), loss: null, bound: Number.isFinite(bound) ? bound : null,
    hardest: "", share: null, alignment: null, uniformity: null, weights: null, similarities: null,
  };
  if (k < 1 || !(tau > 0)) return undefinedReading;
  let z = names.map((n) => pts[n]);
  if (!z.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y))) return undefinedReading;
  if (loss.on_circle) {
    if (z.some((p) => !(norm2(p) > ZERO_NORM))) return undefinedReading;
    z = z.map((p) => {
      const n = norm2(p);
      return [p[0] / n, p[1] / n];
    });
  }
  const [a] = z;
  const similarities = z.slice(1).map(([x, y]) => a[0] * x + a[1] * y);
  const logits = similarities.map((s) => s / tau);
  const { lse, exps, sum } = logSumExp(logits);
  const value = lse - logits[0];
  if (!exps || !Number.isFinite(value)) return undefinedReading;
  const weights = exps.map((e) => e / sum); // torch.softmax: exp(x - max) / sum
  let hardest = 1;
  for (let i = 2; i <= k; i++) if (weights[i] > weights[hardest]) hardest = i;
  const [dx, dy] = [z[0][0] - z[1][0], z[0][1] - z[1][1]];
  const gap = norm2([dx, dy]);
  const alignment = gap * gap; // torch: vector_norm(a - p).pow(2)
  const exponents = []; // torch.pdist's order: i < j, row by row
  for (let i = 0; i < z.length; i++) {
    for (let j = i + 1; j < z.length; j++) {
      const d = norm2([z[i][0] - z[j][0], z[i][1] - z[j][1]]);
      exponents.push(-2 * (d * d));
    }
  }
  const uniformity = logSumExp(exponents).lse - Math.log(exponents.length);
  if (!finite([alignment, uniformity, ...weights])) return undefinedReading;
  return {
    names: names.slice(1), loss: value, bound: undefinedReading.bound, hardest: `N${hardest}`,
    share: weights[hardest], alignment, uniformity, weights, similarities,
  };
}

// lossviz.outlines.balls: the balls of radius r around each centre.
export function balls(metric, centers, r) {
  if (!metric || metric.kind === "none") return null;
  if (metric.kind === "cosine") return centers.map((c) => ({ kind: "cosine", c: [...c], r }));
  const p = metric.kind === "squared" ? 2 : metric.p;
  const radius = metric.kind === "squared" ? Math.sqrt(Math.max(r, 0)) : r;
  return centers.map((c) => ({ kind: "lp", c: [c[0] + metric.eps, c[1] + metric.eps], r: radius, p }));
}

// lossviz.outlines.triplet_outlines / margin_outline for the points where they are now:
// {semi, hard} for a triplet, {margin} for a pair; null for a typed distance.
export function regionBalls(metric, loss, pts) {
  if (!metric || metric.kind === "none" || !loss || loss.kind === "infonce") return null;
  if (loss.kind === "pair") return { margin: balls(metric, [pts.X1], loss.margin) };
  const centers = loss.swap ? [pts.A, pts.P] : [pts.A];
  const dAp = distance(metric, pts.A, pts.P);
  return { semi: balls(metric, centers, dAp + loss.margin), hard: balls(metric, centers, dAp) };
}

// A ball's border as a closed polygon in pixels, sampled at the screen's resolution.
// toPx maps data -> pixels; pxPerUnit is its scale; plot = {x, y, s} the plot square
// (a wedge reaches past it). Returns [] for an empty ball, "all" for the whole plane.
export function ballOutline(ball, toPx, pxPerUnit, plot) {
  if (!(ball.r >= 0) || !Number.isFinite(ball.r)) return ball.r === Infinity ? "all" : [];
  return ball.kind === "cosine"
    ? wedgeOutline(ball, toPx, plot)
    : superellipse(ball, toPx, pxPerUnit);
}

// |x - cx|^p + |y - cy|^p = r^p in polar form, uniform in angle with the four axis
// points included (p < 1's cusps are exact); p = 1 and p = inf are exact polygons.
function superellipse(ball, toPx, pxPerUnit) {
  const p = order(ball.p);
  const [cx, cy] = ball.c;
  const r = ball.r;
  if (r === 0) return [];
  if (p === Infinity || p === 1) {
    const corners = p === 1 ? [[1, 0], [0, 1], [-1, 0], [0, -1]] : [[1, -1], [1, 1], [-1, 1], [-1, -1]];
    return corners.map(([ux, uy]) => toPx([cx + r * ux, cy + r * uy]));
  }
  const rPx = r * pxPerUnit;
  const count = 4 * Math.ceil(Math.min(Math.max(2 * rPx, 16), 2048)); // ~1 px apart
  const out = new Array(count);
  const quarter = count / 4;
  for (let k = 0; k < count; k++) {
    const t = (2 * Math.PI * k) / count;
    const [c, s] = k % quarter === 0 ? AXES[k / quarter] : [Math.cos(t), Math.sin(t)];
    const rho = r / lpNorm(c, s, p);
    out[k] = toPx([cx + rho * c, cy + rho * s]);
  }
  return out;
}

// The directions within arccos(1 - r) of the centre's, from the origin out past the plot.
function wedgeOutline(ball, toPx, plot) {
  const [cx, cy] = ball.c;
  const cosLimit = 1 - ball.r;
  // A centre at the origin is at distance 1 from everything (its norm is clamped).
  const atOrigin = Math.sqrt(cx * cx + cy * cy) < COSINE_NORM_FLOOR;
  if (atOrigin ? ball.r >= 1 : cosLimit <= -1) return "all";
  if (atOrigin || cosLimit >= 1) return [];
  const half = Math.acos(cosLimit);
  const axis = Math.atan2(cy, cx);
  const origin = toPx([0, 0]);
  const corners = [[plot.x, plot.y], [plot.x + plot.s, plot.y], [plot.x, plot.y + plot.s],
    [plot.x + plot.s, plot.y + plot.s]];
  const far = 2 * Math.max(...corners.map(([x, y]) => Math.hypot(x - origin[0], y - origin[1]))) + 10;
  const steps = Math.max(8, Math.ceil((2 * half * 180) / Math.PI)); // 1 degree apart, all off-plot
  const out = [origin];
  for (let k = 0; k <= steps; k++) {
    const t = axis - half + (2 * half * k) / steps;
    out.push([origin[0] + far * Math.cos(t), origin[1] - far * Math.sin(t)]);
  }
  return out;
}

// An outline (from ballOutline) as an SVG path / Path2D string.
export function outlinePath(outline, plot) {
  if (outline === "all") {
    const { x, y, s } = plot;
    return `M${x - 1},${y - 1}H${x + s + 1}V${y + s + 1}H${x - 1}Z`;
  }
  if (!outline.length) return "";
  const parts = outline.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`);
  return `M${parts.join("L")}Z`;
}
