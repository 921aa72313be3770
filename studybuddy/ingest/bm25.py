"""The BM25 index of a course's chunks: bm25s, with its score matrix built in bulk.

bm25s builds its matrix one chunk at a time (a Counter and a set intersection per chunk),
which was a third of a course index build. Here the term counts of every chunk come from one
sort of (chunk, term) pairs; each chunk's scores are still worked out by bm25s's own
functions, with the same arguments and number types, so the matrix is the same to the bit
(tests/ingest/test_bm25.py compares both on random corpora). Variants this does not cover
(BM25L, BM25+, the scipy matrix) are left to bm25s.
"""

from __future__ import annotations

import itertools
from typing import Any


def new_bm25(**parameters: Any) -> Any:
    """A bm25s.BM25 (same parameters) whose index() builds its score matrix in bulk."""
    import bm25s

    class BulkBM25(bm25s.BM25):  # type: ignore[misc]
        def build_index_from_ids(self, unique_token_ids: list[int], corpus_token_ids: list[list[int]],
                                 show_progress: bool = True, leave_progress: bool = False) -> dict[str, Any]:
            if self.method in self.methods_requiring_nonoccurrence or self.csc_backend != "numpy":
                return super().build_index_from_ids(  # type: ignore[no-any-return]
                    unique_token_ids, corpus_token_ids, show_progress=show_progress, leave_progress=leave_progress)
            self.nonoccurrence_array = None  # as bm25s sets it for these variants
            return _score_matrix(self, unique_token_ids, corpus_token_ids)

    return BulkBM25(**parameters)


def _score_matrix(model: Any, unique_token_ids: list[int], corpus_token_ids: list[list[int]]) -> dict[str, Any]:
    import numpy as np
    from bm25s.scoring import _build_idf_array, _select_idf_scorer, _select_tfc_scorer

    lengths = [len(ids) for ids in corpus_token_ids]
    avg_doc_len = np.array(lengths).mean()  # as bm25s works it out (a numpy float)
    n_docs, n_vocab = len(corpus_token_ids), len(unique_token_ids)
    terms = np.fromiter(itertools.chain.from_iterable(corpus_token_ids), dtype=np.int64, count=sum(lengths))
    docs = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    # Every (chunk, term) pair once, in chunk order, with how often the term is in the chunk.
    pairs, counts = np.unique(docs * max(n_vocab, 1) + terms, return_counts=True)
    doc_idx, voc_idx = np.divmod(pairs, max(n_vocab, 1))
    held = np.bincount(voc_idx, minlength=n_vocab)
    doc_frequencies = {token: int(held[token]) for token in unique_token_ids}
    idf_array = _build_idf_array(doc_frequencies=doc_frequencies, n_docs=n_docs,
                                 compute_idf_fn=_select_idf_scorer(model.idf_method), dtype=model.dtype)
    calculate_tfc = _select_tfc_scorer(model.method)
    tf_all = counts.astype(model.dtype)
    bounds = np.searchsorted(doc_idx, np.arange(n_docs + 1))
    scores = np.empty(len(pairs), dtype=model.dtype)
    for doc, length in enumerate(lengths):
        start, end = int(bounds[doc]), int(bounds[doc + 1])
        if start == end:
            continue
        tfc = calculate_tfc(tf_array=tf_all[start:end], l_d=length, l_avg=avg_doc_len,
                            k1=model.k1, b=model.b, delta=model.delta)
        scores[start:end] = idf_array[voc_idx[start:end]] * tfc
    data, indices, indptr = model._np_csc(data=scores, rows=doc_idx.astype(model.int_dtype),
                                          cols=voc_idx.astype(model.int_dtype), shape=(n_docs, n_vocab))
    return {"data": data.astype(model.dtype), "indices": indices, "indptr": indptr, "num_docs": n_docs}
