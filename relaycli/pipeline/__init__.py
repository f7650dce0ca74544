"""The request pipeline: one request end to end, shared by every command that asks a model.

``pipeline.Pipeline`` runs the stages; ``request`` holds ``Ask``/``Answer``; ``route`` the profile and its
fallbacks; ``recording`` the ledger row; ``seams`` the cache and guard interfaces later stages implement.
"""

from __future__ import annotations

from relaycli.pipeline.pipeline import ClientFactory, DeltaSink, Pipeline
from relaycli.pipeline.recording import Recorder
from relaycli.pipeline.request import Answer, Ask, partial_answer
from relaycli.pipeline.route import Router
from relaycli.pipeline.seams import AttemptGuard, ResponseCache

__all__ = [
    "Answer",
    "Ask",
    "AttemptGuard",
    "ClientFactory",
    "DeltaSink",
    "Pipeline",
    "Recorder",
    "ResponseCache",
    "Router",
    "partial_answer",
]
