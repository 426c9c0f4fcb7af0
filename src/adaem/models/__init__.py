"""The model layer: one generate() for every provider, behind one cache/limit/retry/accounting pipeline."""

from .accounting import Ledger, Tally
from .cache import CallCache
from .pipeline import Model
from .pool import ModelPool, build_provider
from .types import (
    AdaemError,
    ChatMessage,
    Choice,
    ConfigError,
    GenerateConfig,
    ModelCallError,
    ModelOutput,
    OutputParseError,
    TokenLogprob,
    TransientError,
    Usage,
)

__all__ = [
    "AdaemError", "CallCache", "ChatMessage", "Choice", "ConfigError", "GenerateConfig", "Ledger", "Model",
    "ModelCallError", "ModelOutput", "ModelPool", "OutputParseError", "Tally", "TokenLogprob", "TransientError",
    "Usage", "build_provider",
]
