"""Browser-test fixtures: a live ``streamlit run app.py`` and Debian chromium via Playwright.

Every test collected under ``tests/browser`` is marked ``browser`` (run only them with
``pytest -m browser``, skip them with ``-m "not browser"``).

Writing a browser test for a new page::

    from tests.browser.conftest import screenshot, wait_for_app

    def test_my_page(page, app_server):
        page.goto(f"{app_server}/my_page")  # url path = the page file's stem
        wait_for_app(page)
        ...  # interact, then `expect(locator).to_contain_text(...)` (auto-retrying)
        screenshot(page, "my_page")

Fixtures: ``chromium_path`` and ``browser`` and ``app_server`` are session-scoped (one
server and one browser for the whole run); ``page`` is a fresh context (1400x900) per test.
A failing test that uses ``page`` leaves ``test-artifacts/screenshots/FAILED-<test>.png``,
and the server's output is in ``test-artifacts/streamlit-server-<port>.log``.

Another script needs its own server? ``with start_streamlit("tests/browser/apps/x.py",
"streamlit-x") as base_url: ...`` (a module-scoped fixture around it, as in
``test_plane_component.py``); ``bench/browser_kit.py`` uses it outside pytest.

Chromium is never downloaded (never ``playwright install``): Debian's ``/usr/bin/chromium``
is used, or ``$LOSSVIZ_CHROMIUM``. Without it the tests skip, except under ``CI=true``
where a missing browser is an error.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from deploy.serve import app_command, app_env, free_port, stop, wait_healthy
from lossviz.ui.setup import PREWARM_ENV_VAR as PREWARM_ENV

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[2]
BROWSER_DIR = Path(__file__).resolve().parent
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ENV_VAR = "LOSSVIZ_CHROMIUM"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # No --user-data-dir: Playwright's `chromium.launch` refuses it ("Pass user_data_dir
    # parameter to 'browser_type.launch_persistent_context' instead") and already starts
    # chromium on a fresh temporary profile of its own, deleted on close. We keep `launch`
    # (not launch_persistent_context) so that each test gets its own clean context.
]
VIEWPORT = {"width": 1400, "height": 900}
SERVER_START_TIMEOUT_S = 60.0
APP_TIMEOUT_MS = 30_000  # a first run imports torch and builds a figure


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


def _missing(reason: str) -> None:
    """A missing browser prerequisite: an error in CI, a skip on a developer machine."""
    if _in_ci():
        pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------- marking


def pytest_collection_modifyitems(config, items):
    """Mark every test under tests/browser with ``browser``."""
    for item in items:
        if BROWSER_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item so ``page`` can screenshot a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# --------------------------------------------------------------------------- helpers


def wait_for_app(page: Page, timeout_ms: int = APP_TIMEOUT_MS) -> None:
    """Wait until Streamlit is connected and has finished running the script.

    The ``stApp`` element carries ``data-test-connection-state`` (``CONNECTED``) and
    ``data-test-script-state`` (``initial`` before the first run, then ``running`` /
    ``notRunning``...). We also wait for the status widget's "Running..." indicator to go.
    After an interaction a rerun may not have *started* yet when this returns: assert on
    the expected new content with ``playwright.sync_api.expect`` (which retries).
    """
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
        '[data-test-script-state="notRunning"]',
        state="attached",
        timeout=timeout_ms,
    )
    page.locator('[data-testid="stStatusWidget"]', has_text="Running").wait_for(
        state="hidden", timeout=timeout_ms
    )


# Streamlit scrolls inside its own containers, not the document, so Playwright's
# full_page=True alone captures only the viewport: measure the tallest scroller instead.
_CONTENT_HEIGHT_JS = """() => Math.max(
    document.documentElement.scrollHeight,
    ...[...document.querySelectorAll(
        '[data-testid="stMain"], [data-testid="stAppViewContainer"],'
        + ' [data-testid="stSidebarContent"], [data-testid="stMainBlockContainer"]'
    )].map((e) => e.scrollHeight))"""
MAX_SCREENSHOT_HEIGHT = 16_000


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG to ``<repo>/test-artifacts/screenshots/<name>.png``.

    The viewport is stretched to the content's height for the shot, then restored.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    viewport = page.viewport_size
    height = int(page.evaluate(_CONTENT_HEIGHT_JS))
    if viewport and height > viewport["height"]:
        page.set_viewport_size({**viewport, "height": min(height, MAX_SCREENSHOT_HEIGHT)})
        page.wait_for_timeout(300)  # let plotly and the layout settle after the resize
    try:
        page.screenshot(path=str(path), full_page=True, animations="disabled")
    finally:
        if viewport:
            page.set_viewport_size(viewport)
    return path


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the server gets SIGTERM if pytest itself is killed (no stray servers)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _log_tail(path: Path, chars: int = 4000) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    return ""


@contextlib.contextmanager
def start_streamlit(script: str, log_name: str) -> Iterator[str]:
    """``script`` served on a free 127.0.0.1 port exactly as ``make run`` serves app.py.

    The command and environment come from ``deploy.serve`` (the one place that says how
    lossviz is started; the server's settings are ``.streamlit/config.toml``). ``script``
    is relative to the repository root (the server's working directory, also on
    ``PYTHONPATH`` so a script in a subfolder can import ``lossviz``).
    The server's output goes to ``test-artifacts/<log_name>-<port>.log``. Startup waits
    for ``/_stcore/health`` (``pytest.fail`` with the log's tail if the server exits or
    does not answer within ``SERVER_START_TIMEOUT_S``); on exit the server is terminated
    by its pid. Used by the ``app_server`` fixture, other test servers and the benches.
    """
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / f"{log_name}-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            app_command("127.0.0.1", port, script),
            cwd=REPO,
            # No start-up training of the collapse presets (LOSSVIZ_PREWARM) unless a test
            # asks: it would compete with what a test measures for its first seconds.
            env=app_env(**{PREWARM_ENV: os.environ.get(PREWARM_ENV, "0")}),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    try:
        try:
            wait_healthy(base_url, process, SERVER_START_TIMEOUT_S)
        except RuntimeError as error:
            pytest.fail(f"{error}; log {log_path}:\n{_log_tail(log_path)}", pytrace=False)
        yield base_url
    finally:
        stop(process)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium (``$LOSSVIZ_CHROMIUM`` overrides); skip (fail in CI) without it."""
    path = os.environ.get(CHROMIUM_ENV_VAR, "").strip() or DEFAULT_CHROMIUM
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        _missing(
            f"chromium not found at {path}: install Debian's `chromium` "
            f"(never `playwright install`) or set {CHROMIUM_ENV_VAR}"
        )
    return path


@pytest.fixture(scope="session")
def app_server() -> Iterator[str]:
    """``streamlit run app.py`` on a free localhost port; yields its base URL."""
    with start_streamlit("app.py", "streamlit-server") as base_url:
        yield base_url


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Browser]:
    """One headless chromium for the session (Playwright's own fresh temp profile)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the `playwright` Python package is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh context (1400x900, no shared cookies or storage) and page for one test."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(APP_TIMEOUT_MS)
    new_page = context.new_page()
    try:
        yield new_page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            with contextlib.suppress(Exception):
                screenshot(new_page, f"FAILED-{request.node.name}")
        context.close()
