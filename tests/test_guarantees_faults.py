"""Fault injection: every extractor, made to raise (one at a time), changes nothing the app sees.

"Extractor" = every function of the ``assistant_telemetry.extract`` modules that running code
calls (the helpers too: ``field``, ``text`` ...), every function those modules keep in tables
(the header and parameter recorders), and every callable an instrumentor's operation table
names (the ``client`` / ``result`` readers). They are found at collection time, so a new one is
covered the day it is added; which scenario reaches it is found by profiling a clean run, and a
new extractor no scenario reaches fails here until a scenario does.

The fault is injected by swapping the function's ``__code__`` for one that raises: every
reference (an import elsewhere, a dispatch table, a frozen ``Operation``) then raises, which
patching module attributes could not achieve. Then the broad scenario of tests/guarantees.py
runs and must return exactly what it returns uninstrumented (results and exceptions, compared
as values), every span started must end, the guard must have seen only the injected fault,
and the ``assistant_telemetry.instrumentation.errors`` counter must report each one.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pkgutil
import sys
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import fields, is_dataclass
from typing import Any

import pytest

import assistant_telemetry
import assistant_telemetry.extract
import assistant_telemetry.instrumentors
from assistant_telemetry import guard
from assistant_telemetry.simulator import Simulator

from guarantees import (
    Pipeline,
    run_agent_framework_scenario,
    run_agents_scenario,
    run_openai_agents_scenario,
    run_projects_scenario,
    run_scenario,
)


class InjectedFault(RuntimeError):
    """What an extractor raises here; counted so a never-called extractor is noticed."""

    raised = 0

    def __init__(self) -> None:
        InjectedFault.raised += 1
        super().__init__("injected fault")


def _modules(package: types.ModuleType) -> list[types.ModuleType]:
    names = [info.name for info in pkgutil.iter_modules(package.__path__, package.__name__ + ".")]
    return [importlib.import_module(name) for name in sorted(names)]


def _functions_in(value: Any) -> Iterator[types.FunctionType]:
    if isinstance(value, types.FunctionType):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _functions_in(item)
    elif isinstance(value, (tuple, list, frozenset, set)):
        for item in value:
            yield from _functions_in(item)
    elif is_dataclass(value) and not isinstance(value, type):
        for spec_field in fields(value):
            yield from _functions_in(getattr(value, spec_field.name))


def _code_names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_names(const)


def called_by_name() -> set[str]:
    """Every global name the package's functions and methods look up when they run."""
    names: set[str] = set()
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith("assistant_telemetry") or ".simulator" in module_name:
            continue
        for value in vars(module).values():
            owners = [value] if isinstance(value, types.FunctionType) else []
            if isinstance(value, type) and value.__module__ == module_name:
                owners = [v for v in vars(value).values() if isinstance(v, types.FunctionType)]
            for function in owners:
                names.update(_code_names(function.__code__))
    return names


def extractors() -> dict[str, list[types.FunctionType]]:
    """``module.qualname`` -> every function object sharing that code (closures from one factory).

    A module-level function no running code calls by name (a factory or table builder used only
    at import, like ``http._header``) is not an extractor: the closures it made are, via tables.
    """
    found: dict[str, list[types.FunctionType]] = {}
    candidates: list[types.FunctionType] = []
    modules = _modules(assistant_telemetry.extract)
    _modules(assistant_telemetry.instrumentors)
    called = called_by_name()
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
                if value.__name__ in called:
                    candidates.append(value)
            elif isinstance(value, (dict, tuple, list, frozenset)):
                candidates.extend(f for f in _functions_in(value) if f.__module__ == module.__name__)
    for module in _modules(assistant_telemetry.instrumentors):
        for table in ("OPERATIONS",):
            candidates.extend(
                f
                for f in _functions_in(getattr(module, table, ()))
                if f.__module__.startswith("assistant_telemetry")
            )
    for function in candidates:
        key = f"{function.__module__}.{function.__qualname__}"
        if function not in found.setdefault(key, []):
            found[key].append(function)
    return found


EXTRACTORS = extractors()


def _raiser(free_vars: int) -> types.CodeType:
    """Code that raises InjectedFault, with as many free variables as the closure it replaces."""
    names = [f"v{i}" for i in range(free_vars)]
    touch = "; ".join(names) or "pass"
    source = (
        "def outer():\n"
        f"    {' = '.join([*names, 'None']) if names else 'pass'}\n"
        "    def raiser(*args, **kwargs):\n"
        f"        {touch}\n"
        f"        raise __import__('sys').modules[{__name__!r}].InjectedFault()\n"
        "    return raiser\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "<injected fault>", "exec"), namespace)
    code: types.CodeType = namespace["outer"]().__code__
    return code


@contextlib.contextmanager
def raising(functions: list[types.FunctionType]) -> Iterator[None]:
    originals = [(f, f.__code__) for f in functions]
    for function, code in originals:
        function.__code__ = _raiser(len(code.co_freevars))
    try:
        yield
    finally:
        for function, code in originals:
            function.__code__ = code


Scenario = Callable[[], list[Any]]
FINGERPRINTS = "ASSISTANT_TELEMETRY_FINGERPRINT_KEY"


@pytest.fixture(scope="module")
def scenarios() -> Iterator[dict[str, Scenario]]:
    """The openai scenario (mock API); the azure-ai-agents, azure-ai-projects, openai-agents and
    agent-framework ones (simulator, ids masked)."""
    with Simulator() as sim:
        yield {
            "openai": run_scenario,
            "azure-ai-agents": lambda: run_agents_scenario(sim),
            "azure-ai-projects": lambda: run_projects_scenario(sim),
            "openai-agents": lambda: run_openai_agents_scenario(sim),
            "agent-framework": lambda: run_agent_framework_scenario(sim),
        }


@pytest.fixture(scope="module")
def uninstrumented(scenarios: dict[str, Scenario]) -> dict[str, list[Any]]:
    """What the application sees with no instrumentation at all."""
    return {name: run() for name, run in scenarios.items()}


@pytest.fixture(scope="module")
def reached(scenarios: dict[str, Scenario]) -> dict[str, set[types.CodeType]]:
    """The code each scenario runs when instrumented (so each fault runs only where it bites)."""
    found: dict[str, set[types.CodeType]] = {}
    for name, run in scenarios.items():
        codes: set[types.CodeType] = set()

        def profile(frame: types.FrameType, event: str, arg: Any, codes: set[types.CodeType] = codes) -> None:
            if event == "call":
                codes.add(frame.f_code)

        instrumented_run(run, profile=profile)
        found[name] = codes
    return found


def instrumented_run(
    scenario: Scenario, inject: Callable[[], Any] = contextlib.nullcontext, profile: Any = None
) -> tuple[list[Any], Pipeline, list[BaseException]]:
    pipeline = Pipeline()
    guard.STRICT, guard.recorded[:] = True, []  # keep the errors the guard swallows, to inspect them
    os.environ[FINGERPRINTS] = "fault-injection-key"  # message fingerprints on: their code runs too
    try:
        assistant_telemetry.instrument(
            tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider
        )
    finally:
        del os.environ[FINGERPRINTS]
    try:
        with inject():
            threading.setprofile(profile)
            sys.setprofile(profile)
            try:
                seen = scenario()
            finally:
                sys.setprofile(None)
                threading.setprofile(None)  # type: ignore[arg-type]
    finally:
        assistant_telemetry.uninstrument()
        errors, guard.recorded[:] = list(guard.recorded), []
        guard.STRICT = False
    return seen, pipeline, errors


def test_extractors_are_found() -> None:
    names = set(EXTRACTORS)
    assert {
        "assistant_telemetry.extract.fields.field",
        "assistant_telemetry.extract.assistants.message_attributes",
        "assistant_telemetry.extract.errors.error_attributes",
        "assistant_telemetry.extract.http.response_attributes",
        "assistant_telemetry.instrumentors.openai.result_attributes",
    } <= names
    assert len(names) > 40, sorted(names)


def test_injection_reaches_every_reference() -> None:
    from assistant_telemetry.extract import assistants, fields

    with raising(EXTRACTORS["assistant_telemetry.extract.fields.field"]), pytest.raises(InjectedFault):
        assistants.field({"id": "x"}, "id")  # the name assistants imported, not fields' own
    assert fields.field({"id": "x"}, "id") == "x"  # restored


@pytest.mark.parametrize(
    "scenario", ["openai", "azure-ai-agents", "azure-ai-projects", "openai-agents", "agent-framework"]
)
def test_clean_run_matches_uninstrumented(
    scenario: str, scenarios: dict[str, Scenario], uninstrumented: dict[str, list[Any]]
) -> None:
    seen, pipeline, errors = instrumented_run(scenarios[scenario])
    assert seen == uninstrumented[scenario]
    assert not errors
    assert pipeline.counter.started == pipeline.counter.ended == len(pipeline.spans) >= len(seen) // 2


@pytest.mark.parametrize("name", sorted(EXTRACTORS))
def test_failing_extractor_changes_nothing_the_app_sees(
    name: str,
    scenarios: dict[str, Scenario],
    uninstrumented: dict[str, list[Any]],
    reached: dict[str, set[types.CodeType]],
) -> None:
    codes = {function.__code__ for function in EXTRACTORS[name]}
    where = [scenario for scenario, ran in reached.items() if codes & ran]
    assert where, f"no scenario (tests/guarantees.py) calls {name}: extend one"
    for scenario in where:
        before = InjectedFault.raised
        seen, pipeline, errors = instrumented_run(scenarios[scenario], lambda: raising(EXTRACTORS[name]))
        hits = InjectedFault.raised - before
        assert hits > 0, scenario
        assert seen == uninstrumented[scenario], scenario  # results and exceptions, value for value
        assert pipeline.counter.started == pipeline.counter.ended, scenario  # every span still ends
        assert all(isinstance(e, InjectedFault) for e in errors), [repr(e) for e in errors]
        assert len(errors) == hits, scenario  # each fault reached the guard: none swallowed unreported
        assert pipeline.errors_counted() == hits, scenario  # and the counter reports each one
