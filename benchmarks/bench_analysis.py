"""Speed of the benchmark statistics and of the report at the sizes the issues name.

- Self-BLEU (exact leave-one-out, linear) and Distinct-2 on 1,000 / 10,000 / 50,000 questions, against
  sacrebleu's naive sentence_score(q, all others) on a sample of 20 hypotheses (extrapolated to the whole set);
- all-MiniLM-L6-v2 embedding rate for the similarity statistic;
- a 10,000-question × 10-model report: file size, render time, and in headless Chromium the time to load
  and show the first page and to apply a filter.

    .venv/bin/python benchmarks/bench_analysis.py
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from adaem.analysis.stats import _bleu, distinct_n, self_bleu
from adaem.generation.seeds import load_seeds
from adaem.report import render_report

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def questions(n: int) -> list[str]:
    rng = random.Random(n)
    base = [s.question for s in load_seeds(None)]
    places = ["in Japan", "in Brazil", "in Kenya", "in France", "in India", "for minors", "for public servants"]
    return [f"{rng.choice(base)[:-1]} {rng.choice(places)} by {2026 + rng.randint(0, 20)}?" for _ in range(n)]


def bench_stats() -> None:
    bleu = _bleu()
    print("| questions | Self-BLEU | exact, s | naive sacrebleu (20 hyps, extrapolated), s | Distinct-2 | s |")
    print("|---|---|---|---|---|---|")
    for n in (1_000, 10_000, 50_000):
        texts = questions(n)
        t = time.perf_counter()
        score = self_bleu(texts)
        exact = time.perf_counter() - t
        t = time.perf_counter()
        for i in range(20):
            bleu.sentence_score(texts[i], texts[:i] + texts[i + 1:])
        naive = (time.perf_counter() - t) / 20 * n
        t = time.perf_counter()
        d2 = distinct_n(texts)
        dt = time.perf_counter() - t
        print(f"| {n:,} | {score:.2f} | {exact:.2f} | {naive:,.0f} | {d2:.3f} | {dt:.2f} |")


def bench_embeddings() -> None:
    from adaem.embeddings import default_encoder

    texts = questions(1_000)
    encoder = default_encoder()
    encoder.encode(texts[:32])
    t = time.perf_counter()
    encoder.encode(texts)
    dt = time.perf_counter() - t
    print(f"\nMiniLM embeddings: {len(texts) / dt:.0f} questions/s (similarity of 10,000 questions ≈ {10_000 / (len(texts) / dt):.0f} s; "
          "the report samples 1,000)")


def bench_report() -> None:
    from playwright.sync_api import sync_playwright
    from test_report import CHROMIUM, synthetic_run

    t = time.perf_counter()
    run = synthetic_run(10_000, 10)
    page_html = render_report([run])
    render = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "big.html"
        path.write_text(page_html)
        print(f"\nreport of 10,000 questions × 10 models: {path.stat().st_size / 1e6:.1f} MB, built in {render:.1f} s")
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                                                  "--disable-background-networking"])
            page = b.new_page(viewport={"width": 1400, "height": 1000})
            for attempt in range(3):
                t = time.perf_counter()
                page.goto(path.as_uri())
                page.wait_for_selector("article.qcard")
                load = time.perf_counter() - t
                t = time.perf_counter()
                page.select_option("#q-country", "Japan")
                page.select_option("#q-value", "3")
                page.text_content("#q-count")
                filt = time.perf_counter() - t
                before = page.text_content("#q-count")
                t = time.perf_counter()
                page.fill("#q-search", "reason 12")  # searches question text and every answer's points
                while page.text_content("#q-count") == before:
                    page.wait_for_timeout(10)
                search = time.perf_counter() - t - 0.15  # minus the typing debounce
                nodes = page.evaluate("document.getElementsByTagName('*').length")
                print(f"  attempt {attempt + 1}: load + first page {load:.2f} s · two filters {filt * 1000:.0f} ms · "
                      f"text search {max(search, 0) * 1000:.0f} ms (after the 150 ms debounce) · {nodes} DOM nodes")
            b.close()


if __name__ == "__main__":
    bench_stats()
    bench_embeddings()
    bench_report()
