"""Wrap and unwrap the methods a table names; deferred until the library is imported.

One table drives both directions, so wrap and unwrap lists can never drift apart.
A target missing from the installed SDK version is skipped with a debug log.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import wrapt

logger = logging.getLogger("assistant_telemetry")
_applied_order = itertools.count()  # one sequence across libraries: see unpatch_all


@dataclass(frozen=True)
class Target:
    """``module.owner.method`` to be wrapped by ``wrapper``."""

    module: str
    owner: str
    method: str
    wrapper: Callable[..., Any]


@dataclass
class Patcher:
    """Applies a library's targets now, or when its top-level package is first imported."""

    package: str
    targets: Callable[[], Iterable[Target]]
    applied: list[tuple[int, type, str, Any]] = field(default_factory=list)  # (order, owner, name, ours)
    wanted: bool = False
    _hook_registered: bool = False

    def patch(self) -> None:
        self.wanted = True
        if self.package in sys.modules:
            self._apply()
        elif not self._hook_registered:
            self._hook_registered = True  # wrapt cannot remove hooks: `wanted` gates them
            wrapt.register_post_import_hook(lambda _module: self._apply(), self.package)

    def unpatch(self) -> None:
        unpatch_all([self])

    def _apply(self) -> None:
        if not self.wanted or self.applied:
            return
        for target in self.targets():
            owner = _resolve(target)
            if owner is None:
                continue
            ours = wrapt.wrap_function_wrapper(owner, target.method, target.wrapper)
            self.applied.append((next(_applied_order), owner, target.method, ours))


def unpatch_all(patchers: Iterable[Patcher]) -> None:
    """Unwrap what the patchers applied, newest first across all of them.

    Two libraries' tables may wrap the same method (azure-ai-agents and azure-ai-projects both
    wrap azure-core's ``Pipeline.run``), and imports decide which came first: only unwinding in
    reverse order of application restores the original.
    """
    patchers = list(patchers)
    entries = sorted((entry for patcher in patchers for entry in patcher.applied), reverse=True)
    for patcher in patchers:
        patcher.wanted = False
        patcher.applied = []
    for _order, owner, name, ours in entries:
        # Someone else may have wrapped over us since: then ours stays, as a pass-through.
        current = owner.__dict__.get(name)
        if current is not None and current is ours:
            setattr(owner, name, current.__wrapped__)


def _resolve(target: Target) -> type | None:
    try:
        owner = getattr(importlib.import_module(target.module), target.owner)
        if target.method not in owner.__dict__:
            raise AttributeError(f"{target.owner}.{target.method}")
        return owner
    except (ImportError, AttributeError) as error:
        logger.debug("assistant_telemetry: skipping %s.%s: %s", target.module, target.owner, error)
        return None
