"""`streamlit run` that writes how long every script or fragment run took, for the lab's browser benchmark.

    python benchmarks/timed_server.py <runs.jsonl> run streamlit_app.py [streamlit options]

Each line of runs.jsonl is {"ms": duration, "fragment": bool}: the server's own time for one rerun, from
Streamlit's script runner starting the page (or a fragment) to its finishing. Nothing here is part of the app.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path


def main() -> None:
    out = Path(sys.argv[1])
    lock = threading.Lock()
    from streamlit.runtime.scriptrunner import script_runner

    original = script_runner.ScriptRunner._run_script

    def timed(self, rerun_data):
        start = time.perf_counter()
        try:
            return original(self, rerun_data)
        finally:
            ms = (time.perf_counter() - start) * 1000
            with lock, out.open("a") as f:
                f.write(json.dumps({"ms": round(ms, 2), "fragment": bool(rerun_data.fragment_id_queue)}) + "\n")

    script_runner.ScriptRunner._run_script = timed
    from streamlit.web import cli

    sys.argv = ["streamlit", *sys.argv[2:]]
    cli.main()


if __name__ == "__main__":
    main()
