"""Edge-of-chaos performance targets, measured in one run (not timed tests).

    python benchmarks/bench_edge.py

Targets: a phase diagram of at least 60 × 60 points in under 2 s, a cliff surface of at least 100 × 100 in
under 3 s, both cached (the second call, served by the page's st.cache_data, is printed too); the residual
networks' gain through depth (no target; printed cold and cached).
"""

from __future__ import annotations

import logging
import time

import numpy as np

logging.getLogger("streamlit").setLevel(logging.ERROR)  # st.cache_data outside `streamlit run`: bare mode

from core.chaos.cliff import loss  # noqa: E402
from core.chaos.mean_field import PHASE_ACTIVATIONS, phase_diagram  # noqa: E402
from ui import edge as edge_ui  # noqa: E402  (the page's own cached functions)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    print("Edge of chaos:")
    for activation in PHASE_ACTIVATIONS:
        seconds = timed(lambda a=activation: phase_diagram(a, 60, 60))
        print(f"  phase diagram 60 × 60, {activation:<10}  {seconds:6.3f} s   target < 2 s: {'met' if seconds < 2 else 'NOT met'}")
    w, b = np.linspace(1, 8, 100), np.linspace(-5, 1, 100)
    seconds = timed(lambda: loss(w[None, :], b[:, None]))
    print(f"  cliff surface 100 × 100 (50 steps each)  {seconds:6.3f} s   target < 3 s: {'met' if seconds < 3 else 'NOT met'}")
    cold = timed(lambda: edge_ui._diagram("tanh"))
    warm = timed(lambda: edge_ui._diagram("tanh"))
    print(f"  page's cached phase diagram (tanh): first call {cold:.3f} s, cached call {warm * 1000:.2f} ms")
    cold = timed(lambda: edge_ui._surface())
    warm = timed(lambda: edge_ui._surface())
    print(f"  page's cached cliff surface: first call {cold:.3f} s, cached call {warm * 1000:.2f} ms")
    cold = timed(lambda: edge_ui._depth_gains("relu", 2 ** 0.5, 0.0, "sqrt_depth"))
    warm = timed(lambda: edge_ui._depth_gains("relu", 2 ** 0.5, 0.0, "sqrt_depth"))
    print(f"  page's cached residual gains (10 depths up to 100 × 256, plain and residual): first call {cold:.3f} s, "
          f"cached call {warm * 1000:.2f} ms")


if __name__ == "__main__":
    main()
