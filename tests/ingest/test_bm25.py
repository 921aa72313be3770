"""The course's BM25 matrix built in bulk is bm25s's own, to the bit."""

from __future__ import annotations

import random

import bm25s
import numpy as np
import pytest

from studybuddy.ingest.bm25 import new_bm25


def _corpus(rng: random.Random) -> tuple[list[list[int]], dict[str, int]]:
    vocab_size = rng.randint(1, 60)
    vocab = {f"t{i}": i for i in range(vocab_size)}
    # Skewed term choice: some terms in most chunks, some in one, some in none; empty chunks too.
    weights = [1 / (i + 1) for i in range(vocab_size)]
    ids = [rng.choices(range(vocab_size), weights, k=rng.choice([0, 1, 3, rng.randint(1, 300)]))
           for _ in range(rng.randint(1, 40))]
    return ids, vocab


@pytest.mark.parametrize("seed", range(60))
def test_bulk_matrix_and_scores_equal_bm25s(seed: int) -> None:
    rng = random.Random(seed)
    ids, vocab = _corpus(rng)
    if not any(ids):
        ids[0] = [0]
    stock, bulk = bm25s.BM25(), new_bm25()
    stock.index(bm25s.tokenization.Tokenized(ids=ids, vocab=dict(vocab)), show_progress=False)
    bulk.index(bm25s.tokenization.Tokenized(ids=ids, vocab=dict(vocab)), show_progress=False)
    for key in ("data", "indices", "indptr"):
        assert stock.scores[key].dtype == bulk.scores[key].dtype, key
        assert np.array_equal(stock.scores[key], bulk.scores[key]), key
    assert stock.scores["num_docs"] == bulk.scores["num_docs"]
    assert stock.vocab_dict == bulk.vocab_dict
    for _ in range(5):
        query = rng.sample(sorted(vocab), k=min(len(vocab), rng.randint(1, 4)))
        assert np.array_equal(stock.get_scores(query), bulk.get_scores(query))


def test_variants_it_does_not_build_are_left_to_bm25s() -> None:
    ids, vocab = [[0, 1, 1], [1, 2]], {"a": 0, "b": 1, "c": 2}
    stock = bm25s.BM25(method="bm25+")
    stock.index(bm25s.tokenization.Tokenized(ids=ids, vocab=dict(vocab)), show_progress=False)
    bulk = new_bm25(method="bm25+")
    bulk.index(bm25s.tokenization.Tokenized(ids=ids, vocab=dict(vocab)), show_progress=False)
    assert np.array_equal(stock.get_scores(["b"]), bulk.get_scores(["b"]))
