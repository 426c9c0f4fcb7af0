"""adaem: adaptive, automated, extensible measurement of how LLMs' values differ (AdAEM, ICLR 2026)."""

from .config import RunConfig, load_config
from .models import ChatMessage, GenerateConfig, Model, ModelOutput, ModelPool

__version__ = "0.1.0"

__all__ = ["ChatMessage", "GenerateConfig", "Model", "ModelOutput", "ModelPool", "RunConfig", "load_config",
           "__version__"]
