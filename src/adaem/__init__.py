"""adaem: adaptive, automated, extensible measurement of how LLMs' values differ (AdAEM, ICLR 2026).

    import adaem
    result = adaem.evaluate(["Should zoos be abolished?", "Should voting be compulsory?"],
                            models=["openai/gpt-4o-mini", "deepseek/deepseek-flash"], judge="openai/gpt-4o")
    result.profile()          # models × values DataFrame of scores

The functions here (and their `*_async` twins) are the public face; the modules behind them may change.
"""

from importlib.metadata import PackageNotFoundError, version

from .api import (
    build_config,
    compare,
    compare_async,
    evaluate,
    evaluate_async,
    findings,
    generate,
    generate_async,
    judge_check,
    judge_check_async,
    load_run,
    prime,
    prime_async,
    reliability,
    stats,
)
from .config import RunConfig, load_config
from .errors import AdaemError, ConfigError, ModelCallError, OutputParseError
from .models import ChatMessage, GenerateConfig, Model, ModelOutput, ModelPool

try:
    __version__ = version("adaem")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "AdaemError", "ChatMessage", "ConfigError", "GenerateConfig", "Model", "ModelCallError", "ModelOutput",
    "ModelPool", "OutputParseError", "RunConfig", "__version__", "build_config", "compare", "compare_async",
    "evaluate", "evaluate_async", "findings", "generate", "generate_async", "judge_check", "judge_check_async", "load_config",
    "load_run", "prime", "prime_async", "reliability", "stats",
]
