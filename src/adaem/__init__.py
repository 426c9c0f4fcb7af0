"""adaem: adaptive, automated, extensible measurement of how LLMs' values differ (AdAEM, ICLR 2026).

    import adaem
    result = adaem.evaluate(["Should zoos be abolished?", "Should voting be compulsory?"],
                            models=["openai/gpt-4o-mini", "deepseek/deepseek-flash"], judge="openai/gpt-4o")
    result.profile()          # models × values DataFrame of scores

The functions here (and their `*_async` twins) are the public face; the modules behind them may change.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from .api import (
    annotate_results,
    build_config,
    compare,
    compare_async,
    distinguish,
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
    select,
    stats,
    subsets,
)
from .config import RunConfig, load_config
from .errors import AdaemError, ConfigError, ModelCallError, OutputParseError
from .models import ChatMessage, GenerateConfig, Model, ModelOutput, ModelPool

if TYPE_CHECKING:
    from .analysis.compare import Comparison
    from .analysis.distinguishability import Distinguishability
    from .analysis.findings_run import Findings
    from .analysis.judge_check import JudgeCheck
    from .analysis.priming import Priming
    from .analysis.reliability import Reliability
    from .analysis.subsets import SubsetConsistency
    from .evaluation import Evaluation
    from .generation.job import GenerateResult

# The result types, imported when first asked for: `import adaem` stays light.
_RESULTS = {"Comparison": "analysis.compare", "Evaluation": "evaluation", "Findings": "analysis.findings_run",
            "GenerateResult": "generation.job", "JudgeCheck": "analysis.judge_check", "Priming": "analysis.priming",
            "Reliability": "analysis.reliability", "Distinguishability": "analysis.distinguishability",
            "SubsetConsistency": "analysis.subsets"}


def __getattr__(name: str) -> Any:
    if name in _RESULTS:
        return getattr(import_module(f".{_RESULTS[name]}", __name__), name)
    raise AttributeError(f"module 'adaem' has no attribute {name!r}")


try:
    __version__ = version("adaem")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "AdaemError", "ChatMessage", "Comparison", "ConfigError", "Distinguishability", "Evaluation", "Findings", "GenerateResult", "JudgeCheck",
    "Priming", "Reliability", "SubsetConsistency", "GenerateConfig", "Model", "ModelCallError", "ModelOutput",
    "ModelPool", "OutputParseError", "RunConfig", "__version__", "annotate_results", "build_config", "compare", "compare_async",
    "distinguish", "evaluate", "evaluate_async", "findings", "generate", "generate_async", "judge_check", "judge_check_async", "load_config",
    "load_run", "prime", "prime_async", "reliability", "select", "stats", "subsets",
]
