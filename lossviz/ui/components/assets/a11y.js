// Page-wide accessibility fixes that CSS alone cannot make (lossviz/ui/components/a11y.py).
//
// Mounted once per script run by app.py; it renders nothing. It watches the page (one
// MutationObserver for the whole document, set up once per browser tab) and:
//
// - gives every KaTeX display formula and every code block that is wider than its box, and
//   so scrolls sideways, a tab stop and a name ("Formula, scrolls sideways"), so a keyboard
//   can scroll it (WCAG 2.1.1; axe's scrollable-region-focusable);
// - writes the theme Streamlit is drawing in on <html data-lv-theme="light|dark">, read
//   from the app's background, so the app's own styles (lossviz/ui/setup.py) can pick
//   colours that keep 4.5:1 in each theme.

// What scrolls sideways when too wide, and what it is called.
const SCROLLERS = [
  [".katex-display", "Formula, scrolls sideways"],
  ['[data-testid="stCode"] pre', "Code, scrolls sideways"],
];

function luminance(rgb) {
  const parts = (rgb.match(/[\d.]+/g) || []).slice(0, 3).map(Number);
  if (parts.length < 3) return 1;
  const [r, g, b] = parts.map((c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function markTheme() {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return;
  const theme = luminance(getComputedStyle(app).backgroundColor) < 0.2 ? "dark" : "light";
  if (document.documentElement.dataset.lvTheme !== theme) {
    document.documentElement.dataset.lvTheme = theme;
  }
}

function markScrollers() {
  for (const [selector, name] of SCROLLERS) {
    for (const box of document.querySelectorAll(selector)) {
      const scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && box.getAttribute("tabindex") !== "0") {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "group");
        box.setAttribute("aria-label", name);
      } else if (!scrolls && box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    }
  }
}

let pending = 0;
function update() {
  pending = 0;
  markTheme();
  markScrollers();
}

function schedule() {
  if (!pending) pending = requestAnimationFrame(update);
}

export default function () {
  if (!window.__lossvizA11y) {
    window.__lossvizA11y = true;
    new MutationObserver(schedule).observe(document.body, {
      childList: true, subtree: true, attributes: true, attributeFilter: ["class", "style"],
    });
    window.addEventListener("resize", schedule);
  }
  update(); // at once: the contrast rules need the theme before the first look

  return undefined;
}
