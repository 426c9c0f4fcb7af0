"""all-MiniLM-L6-v2 in numpy, checked against the values the model's own documentation prints."""

import numpy as np
import pytest

from adaem.embeddings import MiniLM, similarity


@pytest.fixture(scope="module")
def minilm():
    return MiniLM()


def test_known_similarities_from_the_sentence_transformers_quickstart(minilm):
    # sentence-transformers' quickstart with all-MiniLM-L6-v2 prints 0.6660, 0.1046 and 0.1411 for these.
    e = minilm.encode(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    sims = e @ e.T
    assert sims[0, 1] == pytest.approx(0.6660, abs=5e-4)
    assert sims[0, 2] == pytest.approx(0.1046, abs=5e-4)
    assert sims[1, 2] == pytest.approx(0.1411, abs=5e-4)


def test_unit_vectors_batches_and_padding_agree(minilm):
    texts = ["Short.", "A much longer sentence about whether payday loans should be banned in Ohio."]
    together = minilm.encode(texts)
    apart = np.concatenate([minilm.encode([t]) for t in texts])
    assert together.shape == (2, 384)
    assert np.allclose(np.linalg.norm(together, axis=1), 1, atol=1e-5)
    assert np.allclose(together, apart, atol=1e-5)  # padding must not change a sentence's embedding
    assert minilm.encode([]).shape == (0, 384)


def test_paraphrases_are_closer_than_unrelated_questions():
    sims = similarity(["Should payday loans be banned?"],
                      ["Should short-term high-interest loans be prohibited?", "Should zoos be abolished?"])
    assert sims[0, 0] > sims[0, 1] + 0.3
