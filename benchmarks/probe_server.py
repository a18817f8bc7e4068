"""`streamlit run` with a probe inside the server process, for the lecture-hall load script only.

    python benchmarks/probe_server.py <probe-dir> run streamlit_app.py [streamlit options]

The probe is a thread that waits for a request file `<probe-dir>/request` ("count", "trim" or "stacks") and answers in
`<probe-dir>/answer.json` with what the server holds at that moment: sessions (connected and kept after a
disconnect), training runs alive (`core.trainer.Run` objects after a full garbage collection), torch tensors
alive and their storage, Arrow's allocated bytes, Python's allocated blocks, and the resident memory. "trim" first asks glibc to hand
freed heap back to the system (`malloc_trim(0)`), which separates memory the app still holds from memory the
allocator keeps for reuse. Nothing here is part of the app.
"""

from __future__ import annotations

import ctypes
import gc
import json
import sys
import threading
import time
from pathlib import Path


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def snapshot(trim: bool) -> dict:
    gc.collect()
    trimmed = None
    if trim:
        try:
            trimmed = bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
        except OSError:  # not glibc
            trimmed = None
    out: dict = {"rss_mb": rss_mb(), "malloc_trim": trimmed, "allocated_blocks": sys.getallocatedblocks()}
    try:
        from streamlit.runtime import Runtime

        manager = Runtime.instance()._session_mgr
        out["sessions"] = len(manager.list_sessions())
        out["active_sessions"] = len(manager.list_active_sessions())
    except Exception as err:  # noqa: BLE001 - report what could not be read
        out["sessions_error"] = repr(err)
    run_class = getattr(sys.modules.get("core.training.trainer"), "Run", None)
    torch = sys.modules.get("torch")
    runs = tensors = 0
    seeds = []
    storages: dict[int, int] = {}
    for obj in gc.get_objects():
        if run_class is not None and issubclass(type(obj), run_class):  # type(), not isinstance: no lazy proxies
            runs += 1
            seeds.append(obj.config.seed)
        elif torch is not None and issubclass(type(obj), torch.Tensor):
            tensors += 1
            try:
                storage = obj.untyped_storage()
                storages[storage.data_ptr()] = storage.nbytes()
            except Exception:  # noqa: BLE001 - meta or sparse tensors have no plain storage
                pass
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:  # charts travel as Arrow tables; its pool keeps freed memory too
        out["arrow_mb"] = arrow.total_allocated_bytes() / 2**20
        out["arrow_pool"] = arrow.default_memory_pool().backend_name
    out.update(runs=runs, run_seeds=sorted(seeds), tensors=tensors, tensor_mb=sum(storages.values()) / 2**20)
    return out


def stacks() -> dict:
    """Where every thread of the server is (for a session that stops answering)."""
    import traceback

    names = {t.ident: t.name for t in threading.enumerate()}
    return {f"{names.get(ident, '?')} ({ident})": "".join(traceback.format_stack(frame)[-12:])
            for ident, frame in sys._current_frames().items()}


def serve(directory: Path) -> None:
    request, answer = directory / "request", directory / "answer.json"
    while True:
        if request.exists():
            what = request.read_text().strip()
            request.unlink()
            result = stacks() if what == "stacks" else snapshot(trim=what == "trim")
            tmp = answer.with_suffix(".tmp")
            tmp.write_text(json.dumps(result))
            tmp.replace(answer)
        time.sleep(0.2)


def ask(directory: Path, what: str, timeout: float = 60) -> dict:
    """From the load script: send a request to the probe and wait for its answer."""
    answer = directory / "answer.json"
    answer.unlink(missing_ok=True)
    (directory / "request").write_text(what)
    deadline = time.monotonic() + timeout
    while not answer.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the server's probe did not answer")
        time.sleep(0.1)
    return json.loads(answer.read_text())


def main() -> None:
    directory = Path(sys.argv[1])
    threading.Thread(target=serve, args=(directory,), daemon=True, name="memory-probe").start()
    from streamlit.web import cli

    sys.argv = ["streamlit", *sys.argv[2:]]
    cli.main()


if __name__ == "__main__":
    main()
