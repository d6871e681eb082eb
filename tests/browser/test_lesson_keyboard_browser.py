"""The lesson completed with the keyboard alone (WCAG 2.1.1), with a visible focus (2.4.7).

Only ``page.keyboard`` acts: Tab and Shift+Tab move the focus, arrows move a plane's
point (Shift: bigger steps; on the InfoNCE circle a turn) or a slider's thumb, Home and
End send a slider to an end, Space flips a toggle, Enter presses a button. Where the focus
is comes from reading ``document.activeElement`` (never moving it by script), and every
element the focus lands on is checked for a visible focus indicator: an outline or a
box-shadow on it or on the control that stands for it (the thumb of a slider's hidden
range input, the label of a toggle's hidden checkbox), or the ring of a plane's point.

The number of arrow presses is computed, not guessed: the step sizes are read from
plane.js and the step's own ``done`` test is run on the scene the presses will make.

A note on sliders: arrow presses on a lesson slider's thumb can be lost. Each press
commits a value and starts a rerun, and ``SceneBinding.load`` re-assigns every widget's
key in session state on every run, so Streamlit sends that run's (already old) value back
and the thumb jumps back under the pressed key (129 presses from 1.00 ended at 2.15 to
2.22, not 2.29; a plain ``st.slider`` keeps all 129). A student then presses on until the
value shows, and so does :func:`slider_to`: it presses the difference, reads the thumb,
and presses again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Page, expect

from lossviz.core.triplets import Kind
from lossviz.scenes.lesson import (
    BATCH_SCENE,
    EASY_SHARE_RANGE,
    STEPS,
    lesson_batch,
    observe_batch,
    observe_circle,
    observe_pair,
    observe_triplet,
)
from lossviz.scenes.scene import MiningScene, Scene, SimCLRScene
from lossviz.ui.lesson_page import PLANE_BOUNDS
from tests.browser.conftest import REPO, screenshot, wait_for_app
from tests.browser.plane_helpers import no_exception

pytestmark = pytest.mark.browser

TRAINING_TIMEOUT_MS = 180_000  # a 300-step run on a busy 2-core machine, and its frames
DONE_TIMEOUT_MS = 30_000
SETTLE_MS = 250  # after a Tab: React's focus state and Streamlit's 200 ms transitions

# --------------------------------------------------------------------------- plane.js steps

PLANE_JS = (REPO / "lossviz/ui/components/assets/plane.js").read_text(encoding="utf-8")


def _plane_js_number(pattern: str) -> float:
    found = re.search(pattern, PLANE_JS)
    assert found, f"plane.js no longer matches {pattern!r}: update this test's step sizes"
    return float(found.group(1))


# An arrow key moves a point by a share of the plot's span (Shift: a bigger share) ...
SHIFT_SHARE = _plane_js_number(r"e\.shiftKey \? ([0-9.]+) : [0-9.]+\)")
SHIFT_STEP = SHIFT_SHARE * (PLANE_BOUNDS[1] - PLANE_BOUNDS[0])
# ... and on the circle turns it by a number of degrees (Shift: more).
SHIFT_DEGREES = _plane_js_number(r"const ANGLE_STEP_SHIFT = ([0-9.]+);")

# --------------------------------------------------------------------------- the focus

# The focused element (inside open shadow roots too), described, tested against a predicate,
# and checked for a visible focus indicator. Also reports what changed on the element the
# focus was on before, now that it left: the evidence that an indicator is one (it goes away
# with the focus), and for an element without outline or box-shadow what did show its focus.
_FOCUS_JS = r"""(predicateSource) => {
  let e = document.activeElement;
  while (e && e.shadowRoot && e.shadowRoot.activeElement) e = e.shadowRoot.activeElement;
  const up = (n) => n.parentElement
    || (n.getRootNode() instanceof ShadowRoot ? n.getRootNode().host : null);
  const short = (n) => `${n.tagName.toLowerCase()}.${(n.getAttribute('class') || '')
    .split(' ')[0]}`;
  const text = (n) => {
    let t = n.getAttribute('aria-label') || n.innerText || n.textContent || '';
    for (const icon of n.querySelectorAll?.('[data-testid="stIconMaterial"]') ?? []) {
      t = t.replace(icon.textContent, '');
    }
    return t.replace(/\s+/g, ' ').trim().slice(0, 60);
  };
  const ring = (s) => {
    if (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) {
      return `outline ${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`;
    }
    return s.boxShadow && s.boxShadow !== 'none' ? `box-shadow ${s.boxShadow}` : null;
  };
  const PROPS = ['outline-style', 'outline-width', 'outline-color', 'box-shadow',
    'background-color', 'border-color', 'color', 'text-decoration-line', 'opacity'];
  const snap = (n) => {
    const s = getComputedStyle(n);
    const out = Object.fromEntries(PROPS.map((p) => [p, s.getPropertyValue(p)]));
    const lvRing = n.querySelector?.(':scope > .lv-ring');
    if (lvRing) out['ring stroke'] = getComputedStyle(lvRing).stroke;
    return out;
  };

  const previous = window.__lvFocusPrev;
  let left = null;
  if (previous && previous.el !== e && previous.el.isConnected) {
    const now = snap(previous.target);
    const changes = Object.keys(now).filter((k) => now[k] !== previous.snap[k])
      .map((k) => `${k}: ${now[k]} unfocused, ${previous.snap[k]} focused`);
    const stays = previous.hitEl && previous.hitEl.isConnected
      && ring(getComputedStyle(previous.hitEl)) === previous.hit;
    left = { desc: previous.desc, changes, stays: Boolean(stays) };
  }
  if (!e || e === document.body || e === document.documentElement) {
    window.__lvFocusPrev = null;
    return { desc: 'body', matched: false, indicator: null, left };
  }

  const tag = e.tagName.toLowerCase();
  const role = e.getAttribute('role');
  let desc;
  if (e.matches('.lv-point')) desc = `plane point ${e.dataset.name}`;
  else if (tag === 'input') desc = `${e.type} input "${text(e)}"`;
  else desc = `${tag}${role ? `[role=${role}]` : ''} "${text(e)}"`;

  // The control that shows a hidden input's focus: its label, else a few levels up.
  const hidden = tag === 'input' && ['checkbox', 'radio', 'range'].includes(e.type);
  let target = e;
  if (hidden) {
    target = e.closest('label');
    if (!target) { target = e; for (let i = 0; i < 3 && up(target); i++) target = up(target); }
  }
  let indicator = null;
  let hitEl = null;
  if (!hidden && ring(getComputedStyle(e))) { indicator = ring(getComputedStyle(e)); hitEl = e; }
  const lvRing = e.matches('.lv-point') ? e.querySelector('.lv-ring') : null;
  if (!indicator && lvRing) {
    const s = getComputedStyle(lvRing);
    if (s.stroke !== 'none' && parseFloat(s.strokeWidth) > 0) {
      indicator = `ring stroke ${s.stroke} ${s.strokeWidth}`;
      hitEl = null;
    }
  }
  // Else the nearest wrapper (up to 4 levels, within the widget); for a hidden input also
  // what the wrapper holds (a slider's thumb).
  let n = up(e);
  for (let i = 0; !indicator && n && i < 4; i++, n = up(n)) {
    const r = ring(getComputedStyle(n));
    if (r) { indicator = `${r} on ${short(n)}`; hitEl = n; break; }
    if (hidden) {
      for (const d of n.querySelectorAll('*')) {
        const rd = d === e ? null : ring(getComputedStyle(d));
        if (rd) { indicator = `${rd} on ${short(d)}`; hitEl = d; break; }
      }
    }
    if (n.matches('[data-testid="stElementContainer"]')) break;
  }
  window.__lvFocusPrev = { el: e, desc, target, snap: snap(target), hitEl, hit: indicator
    && hitEl ? ring(getComputedStyle(hitEl)) : null };
  const matched = predicateSource ? Boolean((0, eval)(predicateSource)(e)) : false;
  return { desc, matched, indicator, left };
}"""


@dataclass
class FocusLog:
    """Every element the focus landed on, with its indicator; the tab order per step."""

    step: int = 0
    seen: dict[str, dict] = field(default_factory=dict)  # desc -> indicator, steps, changes
    order: list[str] = field(default_factory=list)  # one line per tab_to

    def note(self, info: dict) -> None:
        left = info.get("left")
        if left and left["desc"] in self.seen:
            record = self.seen[left["desc"]]
            record["changes"] = record["changes"] or left["changes"]
            record["stays"] = record["stays"] or left["stays"]
        if info["desc"] == "body":
            return
        record = self.seen.setdefault(
            info["desc"], {"indicator": info["indicator"], "steps": [], "changes": [],
                           "stays": False},
        )  # fmt: skip
        record["indicator"] = record["indicator"] or info["indicator"]
        if self.step not in record["steps"]:
            record["steps"].append(self.step)

    def problems(self) -> list[str]:
        out = []
        for desc, record in self.seen.items():
            steps = ",".join(map(str, record["steps"]))
            if record["indicator"] is None:
                shown = "; ".join(record["changes"]) or "nothing changes"
                out.append(f"{desc} (steps {steps}): no outline or box-shadow; on focus: {shown}")
            elif record["stays"]:
                out.append(
                    f"{desc} (steps {steps}): {record['indicator']} stays after the focus "
                    "leaves: not a focus indicator"
                )
        return out


def focused(page: Page, log: FocusLog, predicate: str | None = None) -> dict:
    """Read (never move) the focus: its description, whether it matches, its indicator."""
    info = page.evaluate(_FOCUS_JS, predicate)
    log.note(info)
    return info


def tab_to(
    page: Page, log: FocusLog, description: str, js_predicate: str, max_presses: int = 80,
    key: str = "Tab",
) -> int:  # fmt: skip
    """Press ``key`` (Tab, or Shift+Tab) until the focused element matches ``js_predicate``
    (JS source of ``(element) => bool``); the number of presses. Fails listing every
    element the focus passed on the way (the tab order)."""
    info = focused(page, log, js_predicate)
    if info["matched"]:
        log.order.append(f"step {log.step}: 0 x {key} to {description} (already there)")
        return 0
    path = []
    for presses in range(1, max_presses + 1):
        page.keyboard.press(key)
        page.wait_for_timeout(SETTLE_MS)
        info = focused(page, log, js_predicate)
        path.append(info["desc"])
        if info["matched"]:
            log.order.append(
                f"step {log.step}: {presses} x {key} to {description}: " + " > ".join(path)
            )
            return presses
    raise AssertionError(
        f"step {log.step}: {max_presses} x {key} never reached {description}; the focus went "
        + " > ".join(f"{i}. {d}" for i, d in enumerate(path, start=1))
    )


def point(name: str) -> str:
    return f"(e) => e.matches('.lv-point') && e.dataset.name === {name!r}"


def button(name: str) -> str:
    """A button whose text (its icon's name left out) is ``name``."""
    return (
        "(e) => { if (e.tagName !== 'BUTTON') return false; let t = e.innerText;"
        " for (const i of e.querySelectorAll('[data-testid=\"stIconMaterial\"]'))"
        f" t = t.replace(i.textContent, ''); return t.trim() === {name!r}; }}"
    )


def control(kind: str, label: str) -> str:
    """A slider's range input (``kind`` "range") or a toggle's checkbox, by its label."""
    return f"(e) => e.type === {kind!r} && e.getAttribute('aria-label') === {label!r}"


# --------------------------------------------------------------------------- the steps


def presses_needed(number: int, move: Callable[[Scene, int], Scene], limit: int = 30) -> int:
    """The fewest presses after which step ``number``'s own test says done (``move``:
    the step's preset scene after k presses)."""
    step = STEPS[number - 1]
    observe = {"triplet": observe_triplet, "pair": observe_pair, "circle": observe_circle}
    for k in range(1, limit + 1):
        if step.done(observe[step.instrument](move(step.scene, k))):
            return k
    raise AssertionError(f"step {number}: {limit} presses are not enough")


def _is_done(page: Page, timeout_ms: int) -> bool:
    try:
        expect(page.get_by_test_id("stAlertContentSuccess").filter(has_text="Done:")).to_be_visible(
            timeout=timeout_ms
        )
    except AssertionError:
        return False
    return True


def _done(page: Page, timeout_ms: int = DONE_TIMEOUT_MS) -> None:
    assert _is_done(page, timeout_ms), "the step's task did not tick (no 'Done:' box)"
    no_exception(page)


def _settle_plane(page: Page) -> None:
    """Wait until the plane has sent its key moves and Python has answered."""
    expect(page.locator(".lv-plane.lv-stale")).to_have_count(0, timeout=DONE_TIMEOUT_MS)
    wait_for_app(page)


def move_point(page: Page, log: FocusLog, keys: list[tuple[str, int]], extra: str) -> None:
    """Press each (key, times) on the focused point; then, until the task ticks, ``extra``
    (one press at a time, at most 3: the server's rounding may need one more)."""
    for key, times in keys:
        for _ in range(times):
            page.keyboard.press(key)
    _settle_plane(page)
    focused(page, log)
    more = 0
    for more in range(4):
        if more == 3 or _is_done(page, 10_000):
            break
        page.keyboard.press(extra)
        _settle_plane(page)
    _done(page)
    pressed = ", ".join(f"{times} x {key}" for key, times in keys)
    log.order.append(f"step {log.step}: {pressed} on the point, then {more} x {extra} more")


def _triplet_n(dx: float, dy: float) -> Callable[[Scene, int], Scene]:
    return lambda s, k: s.replace(nx=s.nx + dx * k, ny=s.ny + dy * k)


def step_1(page: Page, log: FocusLog) -> None:
    """N farther from A than P: N to the left, a tenth of the plot per Shift+ArrowLeft."""
    tab_to(page, log, "point N", point("N"))
    presses = presses_needed(1, _triplet_n(-SHIFT_STEP, 0.0))
    move_point(page, log, [("Shift+ArrowLeft", presses)], "Shift+ArrowLeft")
    screenshot(page, "lesson-keyboard-step1")


def step_2(page: Page, log: FocusLog) -> None:
    """The loss to exactly zero: N farther to the left."""
    tab_to(page, log, "point N", point("N"))
    presses = presses_needed(2, _triplet_n(-SHIFT_STEP, 0.0))
    move_point(page, log, [("Shift+ArrowLeft", presses)], "Shift+ArrowLeft")


def step_3(page: Page, log: FocusLog) -> None:
    """Into the semi-hard band: N to the right, towards A."""
    tab_to(page, log, "point N", point("N"))
    presses = presses_needed(3, _triplet_n(SHIFT_STEP, 0.0))
    move_point(page, log, [("Shift+ArrowRight", presses)], "Shift+ArrowRight")
    expect(page.get_by_test_id("kind-badge")).to_have_attribute("data-kind", "semi-hard")


def step_4(page: Page, log: FocusLog) -> None:
    """p to its far end (∞) with End on the slider's thumb."""
    tab_to(page, log, 'the "p (Minkowski)" slider', control("range", "p (Minkowski)"))
    page.keyboard.press("End")
    wait_for_app(page)
    _done(page)
    expect(page.get_by_test_id("kind-badge")).to_have_attribute("data-kind", "easy")
    expect(page.get_by_test_id("stSliderThumbValue")).to_have_text("∞")
    focused(page, log)


def step_5(page: Page, log: FocusLog) -> None:
    """Swap on with Space (hard now), then N up and right until easy with swap."""
    tab_to(page, log, "the Swap toggle", control("checkbox", "Swap"))
    page.keyboard.press("Space")
    wait_for_app(page)
    expect(page.get_by_test_id("kind-badge")).to_have_attribute("data-kind", "hard")
    tab_to(page, log, "point N", point("N"))
    right = presses_needed(5, lambda s, k: s.replace(swap=True, nx=s.nx + SHIFT_STEP * k))
    # Fewer presses to the right where one up as well does it (N stays inside the plot).
    up = presses_needed(
        5, lambda s, k: s.replace(swap=True, nx=s.nx + SHIFT_STEP * k, ny=s.ny + SHIFT_STEP)
    )
    keys = [("Shift+ArrowRight", up), ("Shift+ArrowUp", 1)] if up < right else [
        ("Shift+ArrowRight", right)]  # fmt: skip
    move_point(page, log, keys, "Shift+ArrowRight")


def slider_value(page: Page, label: str) -> str:
    """The value the thumb of the slider labelled ``label`` shows."""
    block = page.get_by_test_id("stSlider").filter(has_text=label)
    return block.get_by_test_id("stSliderThumbValue").inner_text().strip()


def slider_to(page: Page, log: FocusLog, label: str, positions: list[str], want: str) -> int:
    """Arrow keys on the focused slider until its thumb shows ``want``; ``positions``: what
    the thumb shows at each of its positions, in order. Presses the difference, waits for
    the rerun, reads the thumb again (a press can be lost: see the module's note); returns
    how many presses it took in all."""
    total = 0
    for _ in range(8):
        wait_for_app(page)
        page.wait_for_timeout(500)  # a rerun may still come from the last presses
        wait_for_app(page)
        now = slider_value(page, label)
        if now == want:
            return total
        diff = positions.index(want) - positions.index(now)
        for _ in range(abs(diff)):
            page.keyboard.press("ArrowRight" if diff > 0 else "ArrowLeft")
        total += abs(diff)
        focused(page, log)
    raise AssertionError(f"the {label!r} slider shows {slider_value(page, label)}, not {want}")


def step_6(page: Page, log: FocusLog) -> None:
    """The margin, 0.01 per ArrowRight, to where the batch is closest to half easy."""
    spec = MiningScene.field_spec("margin")
    analysis = lesson_batch(BATCH_SCENE)
    positions = [round(spec.lo + i * spec.step, 2) for i in range(round(spec.hi / spec.step) + 1)]

    def share(margin: float) -> float:
        return observe_batch(BATCH_SCENE.replace(margin=margin), analysis).share(Kind.EASY)

    want = min(positions, key=lambda margin: abs(share(margin) - 0.5))
    assert EASY_SHARE_RANGE[0] <= share(want) <= EASY_SHARE_RANGE[1]
    tab_to(page, log, 'the "Margin m" slider', control("range", "Margin m"))
    presses = slider_to(page, log, "Margin m", [f"{m:.2f}" for m in positions], f"{want:.2f}")
    needed = round((want - STEPS[5].scene.margin) / spec.step)
    log.order.append(f"step 6: {presses} x ArrowRight/Left for the {needed} steps to {want:.2f}")
    _done(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="easy")).to_contain_text(
        f"{share(want):.1%}"
    )
    screenshot(page, "lesson-keyboard-step6")


def train(page: Page, log: FocusLog) -> None:
    """Enter on Train, then watch the shared run(s) to their end."""
    tab_to(page, log, "the Train button", button("Train"))
    page.keyboard.press("Enter")
    _done(page, TRAINING_TIMEOUT_MS)
    focused(page, log)


def step_7(page: Page, log: FocusLog) -> None:
    train(page, log)


def step_8(page: Page, log: FocusLog) -> None:
    train(page, log)


def step_9(page: Page, log: FocusLog) -> None:
    """Similar off with Space, then X2 right, away from X1, beyond the margin."""
    label = "Similar pair (same class)"
    tab_to(page, log, f'the "{label}" toggle', control("checkbox", label))
    page.keyboard.press("Space")
    wait_for_app(page)
    expect(page.get_by_role("switch", name=label)).not_to_be_checked()
    screenshot(page, "lesson-keyboard-step9-toggle")
    tab_to(page, log, "point X2", point("X2"))
    presses = presses_needed(9, lambda s, k: s.replace(similar=False, x2x=s.x2x + SHIFT_STEP * k))
    move_point(page, log, [("Shift+ArrowRight", presses)], "Shift+ArrowRight")


def _turn_n1(degrees: float) -> Callable[[Scene, int], Scene]:
    def move(s: Scene, k: int) -> Scene:
        angle = math.atan2(s.n1y, s.n1x) + math.radians(degrees * k)
        return s.replace(n1x=math.cos(angle), n1y=math.sin(angle))

    return move


def step_10(page: Page, log: FocusLog) -> None:
    """N1 clockwise round the circle (Shift+ArrowDown), away from A, until P takes most."""
    tab_to(page, log, "point N1 on the circle", point("N1"))
    presses = presses_needed(10, _turn_n1(-SHIFT_DEGREES))
    move_point(page, log, [("Shift+ArrowDown", presses)], "Shift+ArrowDown")
    screenshot(page, "lesson-keyboard-step10")


def step_11(page: Page, log: FocusLog) -> None:
    """The temperature to its far end with End."""
    tab_to(page, log, 'the "Temperature τ" slider', control("range", "Temperature τ"))
    page.keyboard.press("End")
    wait_for_app(page)
    _done(page)
    focused(page, log)


def step_12(page: Page, log: FocusLog) -> None:
    """B's temperature up to 1, one mark per ArrowRight, then Train."""
    spec = SimCLRScene.field_spec("tau_b")
    options = sorted({*spec.marks, STEPS[11].scene.tau_b})  # the select slider's (widgets.marks)
    label = "B: temperature τ"
    tab_to(page, log, f'the "{label}" slider', control("range", label))
    presses = slider_to(page, log, label, [spec.shown(o) for o in options], spec.shown(1.0))
    needed = options.index(1.0) - options.index(STEPS[11].scene.tau_b)
    log.order.append(f"step 12: {presses} x ArrowRight/Left for the {needed} marks to 1")
    train(page, log)


def step_13(page: Page, log: FocusLog) -> None:
    """B's shift down to 0 with Home, then Train."""
    label = "B: shift up to (pixels)"
    tab_to(page, log, f'the "{label}" slider', control("range", label))
    page.keyboard.press("Home")
    wait_for_app(page)
    block = page.get_by_test_id("stSlider").filter(has_text=label)
    expect(block.get_by_test_id("stSliderThumbValue")).to_have_text("0")
    train(page, log)


STEP_ACTIONS: dict[int, Callable[[Page, FocusLog], None]] = {
    1: step_1, 2: step_2, 3: step_3, 4: step_4, 5: step_5, 6: step_6, 7: step_7, 8: step_8,
    9: step_9, 10: step_10, 11: step_11, 12: step_12, 13: step_13,
}  # fmt: skip


def next_step(page: Page, log: FocusLog, number: int) -> None:
    """Shift+Tab back to Next, Enter: step ``number`` shows."""
    tab_to(page, log, "the Next button", button("Next"), key="Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"{number}. {STEPS[number - 1].title}")).to_be_visible()
    wait_for_app(page)
    expect(page).to_have_url(f"{page.url.split('?')[0]}?step={number}")
    log.step = number


def test_the_whole_lesson_with_the_keyboard_alone(page: Page, app_server):
    page.goto(f"{app_server}/lesson?step=1")
    wait_for_app(page)
    expect(page.get_by_role("heading", name=f"1. {STEPS[0].title}")).to_be_visible()
    expect(page.get_by_text(f"0 of {len(STEPS)} tasks done")).to_be_visible()
    log = FocusLog(step=1)
    for number, act in STEP_ACTIONS.items():
        act(page, log)
        expect(page.get_by_text(f"{number} of {len(STEPS)} tasks done")).to_be_visible()
        if number < len(STEPS):
            next_step(page, log, number + 1)

    expect(page.get_by_text("You did every task of the lesson")).to_be_visible()
    for index, step in enumerate(STEPS, start=1):
        expect(page.get_by_role("button", name=f"✓ {index}. {step.title}")).to_be_visible()
    screenshot(page, "lesson-keyboard-done")
    print("\n".join(["Tab order:", *log.order]))
    problems = log.problems()
    print("\n".join(["Focus indicators:", *problems]))
    assert not problems, "elements without a visible focus indicator (WCAG 2.4.7):\n" + "\n".join(
        problems
    )
