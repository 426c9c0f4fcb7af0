"""Pictures of value profiles: a radar of every model and a models × dimensions heatmap (PNG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers or in CI
    import matplotlib.pyplot as plt

    return plt


def radar(values: np.ndarray, models: list[str], dims: list[str], path: Path, title: str) -> Path:
    """values: models × dims on 0–100."""
    plt = _pyplot()
    angles = np.linspace(0, 2 * np.pi, len(dims), endpoint=False).tolist()
    fig, ax = plt.subplots(figsize=(7.5, 7.5), subplot_kw={"polar": True})
    for i, model in enumerate(models):
        row = np.nan_to_num(values[i]).tolist()
        ax.plot(angles + angles[:1], row + row[:1], linewidth=2, label=model)
        ax.fill(angles + angles[:1], row + row[:1], alpha=0.08)
    ax.set_xticks(angles)
    ax.set_xticklabels(dims, fontsize=9)
    ax.set_ylim(0, 100)
    ax.set_title(title, pad=24)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=min(3, len(models)), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def heatmap(values: np.ndarray, models: list[str], dims: list[str], path: Path, title: str) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.0 + 0.85 * len(dims), 1.2 + 0.55 * len(models)))
    image = ax.imshow(values, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(dims)), labels=dims, rotation=40, ha="right", fontsize=9)
    ax.set_yticks(range(len(models)), labels=models, fontsize=9)
    for i in range(len(models)):
        for j in range(len(dims)):
            if not np.isnan(values[i, j]):
                ax.text(j, i, f"{values[i, j]:.0f}", ha="center", va="center", fontsize=8,
                        color="white" if values[i, j] < 60 else "black")
    fig.colorbar(image, ax=ax, fraction=0.03)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path
