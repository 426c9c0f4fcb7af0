"""Pictures of the findings (PNG, matplotlib's Agg backend, the house style of `charts`): one function per result
of `findings`, each writing one file and returning its path. The title of each says what was shown: the
result's claim, or why nothing was."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from ..charts import _pyplot
from .findings_models import GroupDifference, ProfileSimilarity
from .findings_questions import CategoryProfiles, PullCurve, RegionDivergence


def _caption(result: Any, width: int = 100) -> str:
    text = result.claim or f"not shown: {result.not_shown}"
    return "\n".join(textwrap.wrap(text, width)[:4])


def _save(fig: Any, plt: Any, path: Path | str) -> Path:
    path = Path(path)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def similarity_heatmap(result: ProfileSimilarity, path: Path | str) -> Path:
    """Models × models profile correlations in clustering order, the dendrogram above, labels coloured by
    the tested key (family)."""
    from scipy.cluster.hierarchy import dendrogram

    plt = _pyplot()
    order = result.order
    r = result.correlation.loc[order, order].to_numpy(float)
    n = len(order)
    size = 2.5 + 0.45 * n
    fig = plt.figure(figsize=(size + 1.2, size + 1.4))
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 4], width_ratios=[30, 1], hspace=0.02, wspace=0.04)
    top, ax, bar = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])
    dendrogram(result.linkage, ax=top, no_labels=True, color_threshold=0, above_threshold_color="0.4")
    top.set_axis_off()
    image = ax.imshow(r, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    groups = sorted({str(g) for g in result.groups.values() if g is not None})
    colour = {g: plt.cm.tab10(i % 10) for i, g in enumerate(groups)}
    ax.set_xticks(range(n), labels=order, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels=order, fontsize=8)
    for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
        for label, model in zip(labels, order, strict=True):
            g = result.groups.get(model)
            label.set_color(colour[str(g)] if g is not None else "0.3")
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if np.isfinite(r[i, j]):
                    ax.text(j, i, f"{r[i, j]:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if abs(r[i, j]) > 0.6 else "black")
    fig.colorbar(image, cax=bar, label="r of value profiles" + (" (centered on the pool)" if result.center else ""))
    top.set_title(f"Value-profile similarity; labels coloured by {result.key}\n{_caption(result, 90)}", fontsize=9)
    return _save(fig, plt, path)


def group_forest(result: GroupDifference, path: Path | str) -> Path:
    """Per value: group a − group b in expression rate with its interval; filled = significant after the
    correction."""
    plt = _pyplot()
    t = result.table.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.5, 1.4 + 0.38 * len(t)))
    y = np.arange(len(t))
    for i, row in t.iterrows():
        sig = bool(row.significant)
        colour = "tab:red" if sig else "0.45"
        ax.plot([row.ci_lo, row.ci_hi], [i, i], color=colour, linewidth=1.6)
        ax.plot(row.difference, i, "o", color=colour, markerfacecolor=colour if sig else "white", markersize=7)
        ax.annotate(f"p_adj {row.p_adj:.3f}" if np.isfinite(row.p_adj) else "", (1.0, i), xycoords=("axes fraction", "data"),
                    xytext=(6, 0), textcoords="offset points", va="center", fontsize=7, color=colour)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, labels=t["value"], fontsize=8)
    a, b = result.groups
    ax.set_xlabel(f"expression rate: {a} − {b} ({result.key}; {result.design})", fontsize=8)
    ax.set_title(_caption(result, 95), fontsize=8)
    fig.tight_layout()
    return _save(fig, plt, path)


def category_small_multiples(result: CategoryProfiles, path: Path | str) -> Path:
    """One panel per category: each model's rate there minus its overall rate (models × values); the
    (model, value) cells that shift significantly are outlined in every panel."""
    from matplotlib.patches import Rectangle

    plt = _pyplot()
    prof = result.profiles
    models = list(dict.fromkeys(prof["model"]))
    values = list(dict.fromkeys(prof["value"]))
    cats = list(dict.fromkeys(prof["category"]))
    weighted = prof.assign(w=prof["rate"].fillna(0) * prof["n"])
    totals = weighted.groupby(["model", "value"])[["w", "n"]].sum()
    overall = (totals["w"] / totals["n"].where(totals["n"] > 0)).unstack().loc[models, values].to_numpy(float)
    cells = {c: (g.pivot(index="model", columns="value", values="rate").loc[models, values].to_numpy(float) - overall)
             for c, g in prof.groupby("category", sort=False)}
    extent = max(0.05, float(np.nanmax([np.nanmax(np.abs(v)) if np.isfinite(v).any() else 0 for v in cells.values()])))
    sig = result.shifts[result.shifts.significant]
    marks = [(models.index(m), values.index(v)) for m, v in zip(sig["model"], sig["value"], strict=True)]
    cols = min(3, len(cats))
    rows = -(-len(cats) // cols)
    w, h = 0.42 * len(values) + 1.5, 0.3 * len(models) + 1.0
    fig, axes = plt.subplots(rows, cols, figsize=(w * cols + 1.2, h * rows + 1.2), squeeze=False, layout="constrained")
    image = None
    for k, ax in enumerate(axes.ravel()):
        if k >= len(cats):
            ax.set_axis_off()
            continue
        image = ax.imshow(cells[cats[k]], cmap="RdBu_r", vmin=-extent, vmax=extent, aspect="auto")
        for i, j in marks:
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=1.4))
        ax.set_title(str(cats[k]), fontsize=9)
        ax.set_xticks(range(len(values)), labels=values if k // cols == rows - 1 or k + cols >= len(cats) else [],
                      rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(models)), labels=models if k % cols == 0 else [], fontsize=7)
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), fraction=0.02, label="rate in category − overall rate")
    fig.suptitle(f"Profiles by category (outlined: shifts between categories)\n{_caption(result, 110)}", fontsize=9)
    return _save(fig, plt, path)


def region_divergence_bars(result: RegionDivergence, path: Path | str, top: int = 25) -> Path:
    """The `top` largest region × value effects (a − b, or a − b beyond elsewhere), sorted, with intervals;
    dark = significant after Benjamini-Hochberg."""
    plt = _pyplot()
    t = result.table.dropna(subset=["effect"]).head(top).sort_values("effect", ignore_index=True)
    fig, ax = plt.subplots(figsize=(7.5, 1.4 + 0.3 * max(len(t), 1)))
    colours = [("tab:red" if e > 0 else "tab:blue") if s else "0.78" for e, s in zip(t.effect, t.significant, strict=True)]
    err = np.vstack([t.effect - t.ci_lo, t.ci_hi - t.effect]).clip(min=0) if len(t) else None
    ax.barh(range(len(t)), t.effect, xerr=err, color=colours, ecolor="0.3", capsize=2)
    ax.set_yticks(range(len(t)), labels=[f"{r} · {v}" for r, v in zip(t.region, t.value, strict=True)], fontsize=7)
    ax.axvline(0, color="black", linewidth=0.8)
    what = "" if result.contrast == "zero" else " beyond their difference elsewhere"
    ax.set_xlabel(f"expression rate: {result.model_a} − {result.model_b}{what}")
    ax.set_title(f"Divergence by {result.column}\n{_caption(result, 95)}", fontsize=8)
    fig.tight_layout()
    return _save(fig, plt, path)


def informativeness_plot(result: PullCurve, path: Path | str, title: str = "Informativeness S by pull") -> Path:
    """Running mean of S by pull, each pull's mean as points, each baseline as a line and the pull from which
    the running mean stays above it (no band: see `informativeness_curve`)."""
    plt = _pyplot()
    c = result.curve
    fig, ax = plt.subplots(figsize=(8, 4.2))
    ax.scatter(c.pull, c.pull_mean, s=8, alpha=0.3, color="tab:blue", label="mean S of the pull")
    ax.plot(c.pull, c.running_mean, color="tab:blue", linewidth=2, label="running mean S")
    for k, row in enumerate(result.baselines.itertuples()):
        colour = plt.cm.tab10((k + 1) % 10)
        ax.axhline(row.mean, color=colour, linestyle="--", linewidth=1.2, label=f"{row.name} ({row.mean:.2f})")
        if np.isfinite(row.above_from):
            ax.axvline(row.above_from, color=colour, linestyle=":", linewidth=1)
            ax.annotate(f"above {row.name} from pull {int(row.above_from)}", (row.above_from, row.mean),
                        xytext=(4, 4), textcoords="offset points", fontsize=7, color=colour,
                        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    ax.set_xlabel("pull")
    ax.set_ylabel("informativeness S")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    fig.tight_layout()
    return _save(fig, plt, path)


__all__ = ["category_small_multiples", "group_forest", "informativeness_plot", "region_divergence_bars",
           "similarity_heatmap"]
