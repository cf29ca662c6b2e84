"""The one place where the instrumentation's own failures go: logged, counted, never raised.

In the test suite ``STRICT`` is switched on: every internal error is also kept in
``recorded`` and the suite fails a test that left any there, so our bugs surface as test
failures instead of silently missing attributes, without changing the code path.
"""

from __future__ import annotations

import contextlib
import logging
import time

from . import semconv as sc

logger = logging.getLogger("assistant_telemetry")

STRICT = False  # tests set this to keep errors in `recorded`
recorded: list[BaseException] = []
_WARN_EVERY_S = 60.0
_last_warning = 0.0
errors_seen = 0


def internal_error(error: BaseException, stage: str) -> None:
    """Record a failure inside the instrumentation (call from an ``except`` block)."""
    global errors_seen, _last_warning
    errors_seen += 1
    logger.debug("assistant_telemetry: internal error in %s", stage, exc_info=error)
    now = time.monotonic()
    if now - _last_warning > _WARN_EVERY_S:
        _last_warning = now
        logger.warning("assistant_telemetry: telemetry incomplete (%s: %s)", stage, type(error).__name__)
    from . import runtime  # late: runtime imports this module

    active = runtime.ACTIVE
    if active is not None:
        with contextlib.suppress(Exception):  # the counter itself must not become the problem
            active.errors.add(1, {sc.INSTRUMENTATION_STAGE: stage, sc.ERROR_TYPE: type(error).__name__})
    if STRICT:
        recorded.append(error)
