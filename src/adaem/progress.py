"""Progress bars for long work: count, rate, ETA, and the model layer's calls / cache hits / retries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from .models.accounting import Ledger

console = Console(stderr=True)


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text("–/s", style="progress.data.speed")
        return Text(f"{speed:.2f}/s" if speed < 10 else f"{speed:.0f}/s", style="progress.data.speed")


class CallsColumn(ProgressColumn):
    """Live model-layer figures, read from the ledger at each refresh."""

    def __init__(self, ledger: Ledger, in_flight: Callable[[], int] | None = None):
        super().__init__()
        self.ledger = ledger
        self.in_flight = in_flight

    def render(self, task: Task) -> Text:
        t = self.ledger.total()
        text = f"{t.calls} calls · {t.cache_hits} cached"
        if self.in_flight is not None:
            text += f" · {self.in_flight()} in flight"
        if t.retries:
            text += f" · {t.retries} retries"
        if t.errors:
            text += f" · {t.errors} failed"
        if t.cost:
            text += f" · ${t.cost:.4f}"
        return Text(text, style="cyan")


@contextmanager
def progress_bar(ledger: Ledger, *, transient: bool = False,
                 in_flight: Callable[[], int] | None = None) -> Iterator[Progress]:
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        CallsColumn(ledger, in_flight),
        console=console,
        transient=transient,
        refresh_per_second=4,
    )
    with progress:
        yield progress
