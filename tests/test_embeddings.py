"""all-MiniLM-L6-v2 (int8 ONNX): checked against the fp32 model and the values its documentation prints."""

import asyncio
from pathlib import Path

import numpy as np
import pytest

from adaem import embeddings
from adaem.embeddings import MiniLM, similarity

REFERENCE = Path(__file__).parent / "data" / "minilm_fp32_reference.npz"


@pytest.fixture(scope="module")
def minilm():
    return MiniLM()


def test_parity_with_the_fp32_model_on_adaems_test_sentences(minilm):
    # vectors of the fp32 weights (sentence-transformers' forward pass, run in numpy by adaem before issue 27) on
    # real answers of the embedded models, seed questions and short edge cases
    ref = np.load(REFERENCE)
    texts, expected = [str(t) for t in ref["texts"]], ref["vectors"].astype(np.float32)
    got = minilm.encode(texts)
    cosine = np.sum(got * expected, axis=1) / np.linalg.norm(expected, axis=1)
    assert cosine.min() >= 0.99
    assert np.abs(got @ got.T - expected @ expected.T).max() < 0.03  # pairwise similarities move little


def test_known_similarities_from_the_sentence_transformers_quickstart(minilm):
    # sentence-transformers' quickstart with all-MiniLM-L6-v2 (fp32) prints 0.6660, 0.1046 and 0.1411 for these;
    # the int8 weights give 0.6684, 0.1055, 0.1404
    e = minilm.encode(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    sims = e @ e.T
    assert sims[0, 1] == pytest.approx(0.6660, abs=5e-3)
    assert sims[0, 2] == pytest.approx(0.1046, abs=5e-3)
    assert sims[1, 2] == pytest.approx(0.1411, abs=5e-3)


def test_unit_vectors_batches_and_padding_agree(minilm):
    texts = ["Short.", "A much longer sentence about whether payday loans should be banned in Ohio.", ""]
    together = MiniLM().encode(texts)
    apart = np.concatenate([MiniLM().encode([t]) for t in texts])
    assert together.shape == (3, 384)
    assert np.allclose(np.linalg.norm(together, axis=1), 1, atol=1e-5)
    assert np.allclose(together, apart, atol=1e-4)  # padding and sorting by length must not change a vector
    assert minilm.encode([]).shape == (0, 384)


def test_concurrent_requests_are_embedded_together_and_each_text_once():
    encoder = MiniLM()
    texts = [[f"Should region {i} ban payday loans?", "Should zoos be abolished?"] for i in range(40)]

    async def main():
        return await asyncio.gather(*(encoder.aencode(t) for t in texts))

    results = asyncio.run(main())
    assert encoder.texts_embedded == 41  # the shared question once, not 40 times
    assert all(np.allclose(r, encoder.encode(t)) for r, t in zip(results, texts, strict=True))


def test_paraphrases_are_closer_than_unrelated_questions():
    sims = similarity(["Should payday loans be banned?"],
                      ["Should short-term high-interest loans be prohibited?", "Should zoos be abolished?"])
    assert sims[0, 0] > sims[0, 1] + 0.3


def test_a_model_file_that_is_not_the_pinned_one_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(embeddings.ConfigError, match="not the pinned"):
        embeddings._check_digest(str(bad), 0)
    assert embeddings.model_file().name == "model.onnx"


def test_the_opinion_rules_decide_as_they_did_with_the_fp32_model(minilm):
    """Issue 27: the rules' thresholds were set on fp32 embeddings; on 188 real answers of the embedded models and
    variants of them (points paired with another question, a point copying the question, a point copying another
    point) the int8 model accepts and rejects exactly the same ones, for the same reason."""
    import json

    from adaem.config import OpinionRules
    from adaem.measure import Opinion, Point, opinion_problem

    data = json.loads((Path(__file__).parent / "data" / "opinion_rules_fp32.json").read_text())
    reasons = ("off topic", "copies the question", "say the same", "not in words", "same text")

    def kind(problem):
        return "accepted" if problem is None else next((r for r in reasons if r in problem), problem)

    changed = []
    for case in data["cases"]:
        opinion = Opinion(stance="yes", points=[Point(p, "") for p in case["points"]], raw="")
        got = kind(opinion_problem(opinion, case["question"], OpinionRules(), minilm))
        if got != case["fp32"]:
            changed.append((case["case"], case["fp32"], got))
    assert len(data["cases"]) == 188 and changed == []
