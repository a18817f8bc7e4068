"""What one visitor may ask of a shared server: work, wall time and memory per request, memory per session and
for all sessions together, Play's training time per session, and turns at the CPU.

Work is counted as hidden layers × units × steps (× runs): the default network (6 × 16) may train every
one of its 10,000 steps at once, the largest (50 × 256) about 2,000 per request. A request that is still
running after `MAX_SECONDS` stops where it is, keeps what it recorded, and says so. Memory is counted before any
work from what a run allocates (`core.training.memory`): one request's step may use `REQUEST_BYTES` at its peak,
one session's runs keep at most `SESSION_BYTES`, all sessions' runs together `SERVER_BYTES`; with two turns at the
CPU at once (`CORES`, one per core of Streamlit Community Cloud), the peaks of at most two steps overlap. A class of
30 on the default network keeps about 1–7 MB each. The UI passes `SERVER` to every long computation; `core`
itself imposes none.
"""

from __future__ import annotations

from core.budget import Budget, Cores, MemoryPool

WORK_LIMIT = 50 * 256 * 2_000  # layer-units × steps per request
MAX_SECONDS = 60.0
PLAY_SECONDS = 180.0  # Play's training time per session, in total (Run and Step are bounded per request)
REQUEST_BYTES = 128 * 10**6
SESSION_BYTES = 128 * 10**6
SERVER_BYTES = 384 * 10**6
CORES = Cores(slots=2, slice_seconds=0.05)
SERVER = Budget(seconds=MAX_SECONDS, work=WORK_LIMIT, request_bytes=REQUEST_BYTES, session_bytes=SESSION_BYTES,
                cores=CORES, pool=MemoryPool(SERVER_BYTES))
