"""Benchmark statistics (SPEC §8, paper Table 1): size, length, Self-BLEU, Distinct-2, semantic similarity.

Self-BLEU is sacrebleu's sentence BLEU of every question against all the others as references (13a
tokenisation, case kept, max n-gram order 4, `exp` smoothing, effective order), averaged, on 0–100; lower is
more diverse. Done naively that is quadratic; here it is exact and linear: sacrebleu's multi-reference BLEU
clips each hypothesis n-gram by its *maximum* count over the references, and the maximum over "everyone but
me" is the top count unless I hold it, then the runner-up. So one pass keeps the two largest counts of every
n-gram (and the sorted lengths, for the closest reference length), and each question's statistics go through
sacrebleu's own n-gram extraction and score formula. `tests/test_analysis.py` checks it equals
`BLEU.sentence_score(q, others)` exactly.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..benchmark import load_questions
from ..errors import ConfigError

BLEU_SETTINGS = "sacrebleu BLEU, tokenize=13a, lowercase=False, max_ngram_order=4, smooth=exp, effective_order=True"


def _bleu():
    from sacrebleu.metrics import BLEU

    return BLEU(effective_order=True)


def self_bleu(texts: Sequence[str]) -> float:
    """Mean sentence BLEU of each text against all the others (0–100). Needs at least two texts."""
    from sacrebleu.metrics.helpers import extract_all_word_ngrams

    if len(texts) < 2:
        raise ConfigError("Self-BLEU needs at least two questions")
    bleu = _bleu()
    grams: list[Counter] = []
    lengths: list[int] = []
    for text in texts:
        counts, length = extract_all_word_ngrams(bleu._preprocess_segment(text), 1, bleu.max_ngram_order)
        grams.append(counts)
        lengths.append(length)
    # the two largest counts of each n-gram over all texts, and who holds the largest
    top: dict[tuple, list[int]] = {}  # ngram -> [max1, owner1, max2]
    for i, counts in enumerate(grams):
        for gram, c in counts.items():
            entry = top.get(gram)
            if entry is None:
                top[gram] = [c, i, 0]
            elif c > entry[0]:
                top[gram] = [c, i, entry[0]]
            elif c > entry[2]:
                entry[2] = c
    sorted_lengths = sorted(lengths)
    order = bleu.max_ngram_order
    total_score = 0.0
    for i, counts in enumerate(grams):
        correct, total = [0] * order, [0] * order
        for gram, c in counts.items():
            n = len(gram) - 1
            total[n] += c
            m1, owner, m2 = top[gram]
            best = m2 if owner == i else m1
            correct[n] += min(c, best)
        ref_len = _closest_other_length(sorted_lengths, lengths[i])
        total_score += bleu._compute_score_from_stats([lengths[i], ref_len, *correct, *total]).score
    return total_score / len(texts)


def _closest_other_length(sorted_lengths: list[int], own: int) -> int:
    """sacrebleu's closest reference length (ties go to the shorter) among all lengths but one copy of `own`."""
    lo = bisect.bisect_left(sorted_lengths, own)
    hi = bisect.bisect_right(sorted_lengths, own)
    if hi - lo >= 2:
        return own
    below = sorted_lengths[lo - 1] if lo > 0 else None
    above = sorted_lengths[hi] if hi < len(sorted_lengths) else None
    if below is None:
        return above  # type: ignore[return-value]
    if above is None or own - below <= above - own:
        return below
    return above


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Distinct-n: unique n-grams / all n-grams over the whole set (sacrebleu's 13a tokens and n-gram
    extraction, lowercased), 0–1."""
    from sacrebleu.metrics.helpers import extract_all_word_ngrams
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    tokenize = Tokenizer13a()
    seen: Counter = Counter()
    for text in texts:
        grams, _ = extract_all_word_ngrams(tokenize(text.lower()), n, n)
        seen.update(grams)
    total = sum(seen.values())
    return len(seen) / total if total else 0.0


def mean_pairwise_similarity(embeddings: np.ndarray) -> float:
    """Mean cosine similarity over all distinct pairs, in O(N·d): Σ_{i≠j} e_i·e_j = |Σe|² − Σ|e_i|²."""
    n = len(embeddings)
    if n < 2:
        raise ConfigError("pairwise similarity needs at least two questions")
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    total = unit.sum(axis=0)
    return float((total @ total - (unit * unit).sum()) / (n * (n - 1)))


@dataclass
class SetStats:
    name: str
    questions: int
    avg_words: float
    self_bleu: float
    distinct_2: float
    semantic_similarity: float | None


def question_set_stats(name: str, texts: Sequence[str], encoder: Any | None = None, *,
                       similarity_sample: int | None = None) -> SetStats:
    """All statistics of one question set. `encoder` (a sentence embedder with .encode) may be None: no
    similarity. With `similarity_sample`, similarity is over a seeded sample of that many questions (embedding
    is the slow part: ~80 questions/s on 2 cores); the other statistics always use every question."""
    texts = [t for t in texts if t.strip()]
    if len(texts) < 2:
        raise ConfigError(f"{name}: statistics need at least two questions, found {len(texts)}")
    similarity = None
    if encoder is not None:
        sample = list(texts)
        if similarity_sample is not None and len(sample) > similarity_sample:
            picked = np.random.default_rng(0).choice(len(sample), similarity_sample, replace=False)
            sample = [sample[i] for i in picked]
        similarity = mean_pairwise_similarity(encoder.encode(sample))
    return SetStats(name=name, questions=len(texts), avg_words=float(np.mean([len(t.split()) for t in texts])),
                    self_bleu=self_bleu(texts), distinct_2=distinct_n(texts, 2), semantic_similarity=similarity)


def benchmark_stats(files: Sequence[Path | str], out: Path | None = None, *, similarity: bool = True,
                    on_file=None, dedupe: bool = False, names: Sequence[str] | None = None) -> Any:
    """One row per question file (our JSONL, CSV with a question column, parquet) → DataFrame; CSV/JSON/PNG to
    `out`. Rows are named by `names`, else by the files' paths."""
    import pandas as pd

    from ..embeddings import default_encoder

    if not files:
        raise ConfigError("name at least one question file")
    encoder = default_encoder() if similarity else None
    rows = []
    for i, f in enumerate(files):
        questions = load_questions(f, dedupe=dedupe, keep_repeats=True)  # repeats are what Self-BLEU sees
        name = names[i] if names else str(f)
        rows.append(asdict(question_set_stats(name, [q.text for q in questions], encoder)))
        if on_file:
            on_file(f)
    table = pd.DataFrame(rows)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "stats.csv", index=False)
        (out / "stats.json").write_text(table.to_json(orient="records", indent=1))
        stats_chart(table, out / "stats.png")
    return table


def stats_chart(table: Any, path: Path) -> Path:
    """Four small bar charts, one per diversity statistic, one bar per question set."""
    from ..charts import _pyplot

    plt = _pyplot()
    names = [Path(n).name for n in table["name"]]
    panels = [("avg_words", "average words"), ("self_bleu", "Self-BLEU (lower = more diverse)"),
              ("distinct_2", "Distinct-2 (higher = more diverse)"),
              ("semantic_similarity", "mean pairwise similarity (lower = more diverse)")]
    fig, axes = plt.subplots(1, 4, figsize=(4 + 2.2 * len(names) * 1.0 + 8, 3.6))
    for ax, (col, label) in zip(axes, panels, strict=True):
        values = table[col].astype(float).fillna(0).to_numpy()
        ax.bar(range(len(names)), values, color=plt.cm.tab10(np.arange(len(names)) % 10))
        ax.set_xticks(range(len(names)), labels=names, rotation=30, ha="right", fontsize=8)
        ax.set_title(label, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
