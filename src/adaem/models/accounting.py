"""Calls, cache hits, retries, errors, tokens and cost, per model and per role."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .types import Usage


@dataclass
class Tally:
    calls: int = 0  # calls actually sent (one per sample)
    cache_hits: int = 0
    retries: int = 0
    errors: int = 0  # calls that failed for good
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0  # of the output tokens, hidden reasoning (billed as output)
    cost: float = 0.0  # USD, from the price table; 0 without prices
    seconds: float = 0.0  # time spent in successful calls
    batched: int = 0  # of the calls, those answered through a batch API or an imported batch file

    def add(self, other: Tally) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


class Ledger:
    """Accounting of one process. The run store persists it per session."""

    def __init__(self, prices: dict[str, tuple[float, float]] | None = None):
        self.prices = prices or {}
        self.tallies: dict[tuple[str, str], Tally] = {}

    def _tally(self, model: str, role: str) -> Tally:
        return self.tallies.setdefault((model, role), Tally())

    def cost_of(self, model: str, usage: Usage) -> float:
        price_in, price_out = self.prices.get(model, (0.0, 0.0))
        return (usage.input_tokens * price_in + usage.output_tokens * price_out) / 1e6

    def record_call(self, model: str, role: str, usage: Usage, seconds: float, *, price_factor: float = 1.0,
                    batched: bool = False) -> None:
        """One call made; `price_factor` < 1 for calls a batch API answered at its discount."""
        t = self._tally(model, role)
        t.calls += 1
        t.batched += batched
        t.input_tokens += usage.input_tokens
        t.output_tokens += usage.output_tokens
        t.reasoning_tokens += usage.reasoning_tokens
        t.cost += self.cost_of(model, usage) * price_factor
        t.seconds += seconds

    def record_hit(self, model: str, role: str) -> None:
        self._tally(model, role).cache_hits += 1

    def record_retry(self, model: str, role: str) -> None:
        self._tally(model, role).retries += 1

    def record_error(self, model: str, role: str) -> None:
        self._tally(model, role).errors += 1

    def total(self) -> Tally:
        out = Tally()
        for t in self.tallies.values():
            out.add(t)
        return out

    def by(self, axis: str) -> dict[str, Tally]:
        """Totals per 'model' or per 'role'."""
        index = 0 if axis == "model" else 1
        out: dict[str, Tally] = {}
        for key, t in self.tallies.items():
            out.setdefault(key[index], Tally()).add(t)
        return out

    def rows(self) -> list[dict[str, object]]:
        return [{"model": m, "role": r, **asdict(t)} for (m, r), t in sorted(self.tallies.items())]
