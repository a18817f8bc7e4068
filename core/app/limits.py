"""What one visitor may ask of a shared server: a cap on the work of one request and on its wall time.

Work is counted as hidden layers × units × steps (× runs): the default network (6 × 16) may train every
one of its 10,000 steps at once, the largest (50 × 256) about 2,000 per request. A request that is still
running after `MAX_SECONDS` stops where it is, keeps what it recorded, and says so. The UI passes `SERVER` to
every long computation; `core` itself imposes none.
"""

from __future__ import annotations

from core.budget import Budget

WORK_LIMIT = 50 * 256 * 2_000  # layer-units × steps per request
MAX_SECONDS = 60.0
SERVER = Budget(seconds=MAX_SECONDS, work=WORK_LIMIT)
