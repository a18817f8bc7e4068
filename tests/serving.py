"""Start the app exactly as a user does (`streamlit run streamlit_app.py`) on a free loopback port.

Used by the browser tests and by the benchmark scripts that drive a real server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scripts.serve_replicas import free_port, wait_healthy  # noqa: F401 - shared with the replicas script

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser"):
        if name and (path := shutil.which(name)):
            return path
    return None


@contextmanager
def streamlit_server(log: Path, timeout: float = 60, extra: tuple[str, ...] = (),
                     launcher: tuple[str, ...] = ("-m", "streamlit")) -> Iterator[tuple[str, subprocess.Popen]]:
    """Yield (url, process) once /_stcore/health answers; stop the server afterwards.

    `launcher` is what follows the interpreter in place of `-m streamlit` (the load script's probe).
    """
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, *launcher, "run", "streamlit_app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
             *extra],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_healthy(url, proc, timeout, "streamlit")
        except RuntimeError as err:
            raise RuntimeError(f"{err}; log:\n{log.read_text()}") from None
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
