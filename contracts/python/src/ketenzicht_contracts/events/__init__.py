"""Versioned event payloads of every service; importing this module registers them all."""

from . import intake, investigation, prosecution, residence
from .base import EventPayload, Pseudonym, all_payload_models, payload_model

__all__ = [
    "EventPayload",
    "Pseudonym",
    "all_payload_models",
    "intake",
    "investigation",
    "payload_model",
    "prosecution",
    "residence",
]
