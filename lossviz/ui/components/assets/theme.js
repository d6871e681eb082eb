// Streamlit's theme as an element sees it, for what CSS cannot reach (canvas drawing).
//
// Streamlit (1.67) sets its theme as CSS variables (--st-text-color,
// --st-background-color, --st-primary-color...) on a wrapper around each Custom
// Components v2 element's shadow host, and calls the element's default export again
// when the theme changes: so each draw reads them here. CSS uses the variables
// directly (with colour-mix for the muted shades, the same proportions as below).
// Without them (a test page outside Streamlit) the light theme's colours are used.

const LIGHT_TEXT = [49, 51, 63]; // #31333f
const LIGHT_BACKGROUND = [255, 255, 255];

let probe = null;

// Any CSS colour -> [r, g, b] (0-255), or null if it is not one.
export function rgbOf(color) {
  const text = String(color ?? "").trim();
  if (!text || text === "unset") return null;
  probe ??= document.createElement("canvas").getContext("2d");
  probe.fillStyle = "#010203"; // a sentinel: an invalid colour leaves it unchanged
  probe.fillStyle = text;
  const parsed = probe.fillStyle;
  if (parsed === "#010203" && text.toLowerCase() !== "#010203") return null;
  if (parsed.startsWith("#")) return [1, 3, 5].map((i) => parseInt(parsed.slice(i, i + 2), 16));
  const parts = parsed.match(/[\d.]+/g);
  return parts ? parts.slice(0, 3).map(Number) : null;
}

// WCAG relative luminance of [r, g, b].
export function luminance(rgb) {
  const [r, g, b] = rgb.map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

const css = (rgb) => `rgb(${rgb.map((c) => Math.round(c)).join(", ")})`;

// Text that reads on a filled badge of `color`: near-black (#111111) or white, whichever
// contrasts more (WCAG's ratio); lossviz.figures.ink_on in Python.
const DARK_INK = 0.0056; // the relative luminance of #111111
export function inkOn(color) {
  const rgb = rgbOf(color);
  if (!rgb) return "#ffffff";
  const fill = luminance(rgb);
  return (fill + 0.05) / (DARK_INK + 0.05) >= 1.05 / (fill + 0.05) ? "#111111" : "#ffffff";
}

// The theme's colours at `element`: text, background, and mixes of the two for muted
// text, frames and grid lines; `dark` when the background is dark.
export function themeColors(element) {
  const style = getComputedStyle(element);
  const text = rgbOf(style.getPropertyValue("--st-text-color")) ?? LIGHT_TEXT;
  const background = rgbOf(style.getPropertyValue("--st-background-color")) ?? LIGHT_BACKGROUND;
  const mix = (share) => css(text.map((c, i) => c * share + background[i] * (1 - share)));
  return {
    text: css(text),
    background: css(background),
    muted: mix(0.7),
    frame: mix(0.3),
    grid: mix(0.12),
    dark: luminance(background) < 0.4,
  };
}
