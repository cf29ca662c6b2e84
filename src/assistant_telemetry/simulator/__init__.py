"""A local simulator of the OpenAI Assistants API (and its Azure OpenAI flavour) for tests and demos.

    with Simulator() as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="x")

Stdlib only; see ``server.Simulator`` for the controls (run outcomes, faults, recorded requests).
"""

from .faults import Fault
from .runs import SCRIPTS as RUN_OUTCOMES
from .server import RecordedRequest, Simulator

__all__ = ["RUN_OUTCOMES", "Fault", "RecordedRequest", "Simulator"]
