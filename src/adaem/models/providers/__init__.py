"""Providers are leaves: each turns (messages, one sample's settings) into a Completion.

Caching, retries, concurrency limits and accounting live in `adaem.models.pipeline`, once for all.
"""

from .base import Completion, Provider

__all__ = ["Completion", "Provider"]
