"""Shared fixtures: a real `streamlit run` server and a headless Chromium for browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving import CHROMIUM_ARGS, chromium, streamlit_server


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real server for the browser tests."""
    try:
        with streamlit_server(tmp_path_factory.mktemp("server") / "streamlit.log") as (url, _):
            yield url
    except RuntimeError as err:
        pytest.fail(str(err))


@pytest.fixture
def fresh_app_url(tmp_path: Path) -> Iterator[str]:
    """A server started for this test alone (what a student's first click after a Cloud wake-up meets)."""
    with streamlit_server(tmp_path / "streamlit.log") as (url, _):
        yield url


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (no downloaded browser needed)."""
    playwright = pytest.importorskip("playwright.sync_api")
    path = chromium()
    if path is None:
        pytest.fail("browser tests need Chromium: install Debian's `chromium` package (or set CHROMIUM=/path)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


def wait_for_script(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished the current script run (giving a just-triggered rerun time to start)."""
    page.wait_for_timeout(500)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)
    page.wait_for_timeout(300)
