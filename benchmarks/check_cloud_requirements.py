"""Check what Community Cloud will install: requirements.txt without its CPU index line, in a brand-new venv.

    python benchmarks/check_cloud_requirements.py

Creates a temporary virtualenv, installs the file's packages (the CPU index line cannot be reached from here;
torch==2.13.0 is then found as this machine's CPU build), starts the app with that venv's Python and checks in
headless Chromium that the home page shows the worked example and the training lab trains.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.serving import CHROMIUM_ARGS, chromium, free_port  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        lines = [ln for ln in (ROOT / "requirements.txt").read_text().splitlines()
                 if ln.strip() and not ln.startswith(("#", "--extra-index-url"))]
        reqs = Path(tmp) / "requirements.txt"
        reqs.write_text("\n".join(str(ROOT) if ln.strip() == "." else ln for ln in lines) + "\n")
        start = time.perf_counter()
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-r", str(reqs)], check=True)
        print(f"installed {', '.join(lines)} in a fresh venv in {time.perf_counter() - start:.0f} s")
        port = free_port()
        server = subprocess.Popen([str(venv / "bin" / "python"), "-m", "streamlit", "run", "streamlit_app.py",
                                   "--server.headless", "true", "--server.address", "127.0.0.1",
                                   "--server.port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                        break
                except OSError:
                    time.sleep(0.3)
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
                page = browser.new_page()
                page.goto(url)
                page.get_by_text("−937,000").first.wait_for(timeout=60_000)
                page.goto(url + "/Training_lab")
                page.get_by_role("button", name="Run", exact=True).click()
                page.get_by_role("tab", name="Update ledger").click(timeout=120_000)  # the ledger's lazy tab
                page.get_by_text("W₁[1, 1] at step 100").first.wait_for(timeout=120_000)
                errors = page.locator("[data-testid='stException']").count()
                browser.close()
            print(f"the app boots with them: home page shows −937,000, the lab trained 100 steps, {errors} exceptions")
        finally:
            server.terminate()


if __name__ == "__main__":
    main()
