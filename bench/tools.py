"""Study tools on the offline `local` provider, each next to retrieval alone measured in the same run:
summarising a 100-page document and making 20 flashcards (the real job handlers on a real SQLite
store), and Avner chat answer latency p50/p95 on a 2,000-chunk course, with keyword retrieval and
with hybrid retrieval (query vectors from the deterministic test embedding server on loopback,
through the openai SDK). Also how the ingest batches embedding requests. Prints medians and ratios.

Usage: python bench/tools.py [--questions N] [--repeat N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studybuddy.ai.embeddings import configured_embedder  # noqa: E402
from studybuddy.ingest.retrieval import Retrieval  # noqa: E402
from studybuddy.ingest.vectors import store_vectors  # noqa: E402
from tests.ai.fakes import FakeOpenAI  # noqa: E402

from studybuddy.accounts import create_user  # noqa: E402
from studybuddy.ai.base import ToolRequest  # noqa: E402
from studybuddy.ai.offline import forget_passages  # noqa: E402
from studybuddy.config import load_config  # noqa: E402
from studybuddy.ingest.hebrew import search_form  # noqa: E402
from studybuddy.services import Services  # noqa: E402
from studybuddy.store.models import Chunk, Course, Document, Job, new_id  # noqa: E402
from studybuddy.study.tools import retrieved_sources  # noqa: E402
from studybuddy.worker.handlers import default_handlers  # noqa: E402
from studybuddy.worker.runner import JobContext  # noqa: E402

WORDS_PER_PAGE = 380
CHUNK_WORDS = 200


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


class Material:
    """Deterministic course-like English text: defined terms, and sentences that use them."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        syllables = ["ka", "lo", "mer", "tis", "van", "dro", "pel", "sun", "qui", "ra", "zo", "len", "bar", "ix"]
        self.terms = sorted({"".join(self.rnd.choice(syllables) for _ in range(3)) for _ in range(900)})
        self.filler = ("system", "process", "energy", "model", "signal", "pressure", "layer", "structure",
                       "response", "value", "rate", "change", "cell", "network", "field", "force", "balance",
                       "cycle", "phase", "method", "result", "effect")

    def sentence(self) -> str:
        a, b = self.rnd.sample(self.terms, 2)
        pick = self.rnd.random()
        if pick < 0.2:
            return f"{a.capitalize()} is a {self.rnd.choice(self.filler)} that controls the {b} " \
                   f"{self.rnd.choice(self.filler)} in most conditions."
        words = [self.rnd.choice(self.filler) for _ in range(self.rnd.randint(8, 18))]
        words.insert(self.rnd.randrange(len(words)), a)
        words.insert(self.rnd.randrange(len(words)), b)
        return " ".join(words).capitalize() + "."

    def page(self) -> str:
        out: list[str] = []
        while sum(len(s.split()) for s in out) < WORDS_PER_PAGE:
            out.append(self.sentence())
        return " ".join(out)


def add_document(services: Services, course: Course, material: Material, pages: int, name: str) -> Document:
    store = services.store
    document = store.documents.add(Document(id=new_id(), course_id=course.id, owner_id=course.owner_id,
                                            display_name=name, mime="application/pdf", kind="pdf",
                                            status="ready", page_count=pages))
    chunks: list[Chunk] = []
    for number in range(1, pages + 1):
        words = material.page().split()
        for start in range(0, len(words), CHUNK_WORDS):
            text = " ".join(words[start:start + CHUNK_WORDS])
            chunks.append(Chunk(id=new_id(), document_id=document.id, course_id=course.id, ordinal=len(chunks),
                                page=number, text=text, search_text=search_form(text)))
    store.chunks.replace_for_document(document.id, chunks)
    return document


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def run_handler(services: Services, course: Course, document: Document, job_type: str, params: dict) -> str:
    """The real handler on a claimed job record, as the worker would run it."""
    job = services.store.jobs.add(Job(id=new_id(), type=job_type, queue="bench", owner_id=course.owner_id,
                                      course_id=course.id, document_id=document.id,
                                      params={**params, "document_id": document.id}))
    claimed = services.store.jobs.claim(job.id, "bench", 600, time.time())
    assert claimed is not None
    result = default_handlers()[job_type](JobContext(claimed, services, "bench"))
    services.store.jobs.finish(job.id, claimed.lease_token, "succeeded", time.time(), result_ref=result)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200, help="chat questions to time")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each document tool")
    parser.add_argument("--tries", type=int, default=3, help="runs per chat question (the best counts)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(env={}).replace(app={"state_dir": tmp}, web={"secret_key": "bench"},
                                          broker={"url": "memory://"})
        services = Services(cfg)
        try:
            material = Material(seed=11)
            owner = create_user(services.store, "bench@example.com", "correct horse battery", "Bench").id
            big = services.store.courses.add(Course(id=new_id(), owner_id=owner, name="Bench"))
            book = add_document(services, big, material, 100, "book.pdf")
            pages_doc = services.store.chunks.list_for_document(book.id)
            while services.store.chunks.count_for_course(big.id) < 2000:
                add_document(services, big, material, 25, f"notes-{new_id()[:4]}.pdf")
            chunk_count = services.store.chunks.count_for_course(big.id)
            pairs = [material.rnd.sample(material.terms, 2) for _ in range(args.questions)]
            queries = [f"What is {a}?" if i % 2 else f"How does {a} affect the {b} rate?"
                       for i, (a, b) in enumerate(pairs)]
            retrieval = services.retrieval
            retrieval.search(big.id, queries[0])  # build the course index once, as a running worker has it

            def search_doc() -> None:
                retrieval.search(big.id, queries[1], k=6, document_id=book.id)

            def cold(job_type: str, params: dict) -> Callable[[], object]:
                def run() -> object:
                    forget_passages()  # every run reads the document afresh
                    return run_handler(services, big, book, job_type, params)
                return run

            summary = timed(cold("summary", {"length": "medium"}), args.repeat)
            cards = timed(cold("flashcards", {"count": 20}), args.repeat)
            doc_search = timed(search_doc, max(args.repeat, 20))

            def answer(query: str) -> None:
                sources = retrieved_sources(services, big.id, query, 6)
                services.ai.run(ToolRequest(tool="chat", sources=sources, language="en",
                                            params={"question": query, "history": [], "simple": False}))

            # Per question, the best of `--tries` runs of each (scheduling noise only ever adds time);
            # "cold" forgets the passage analyses before every run, "warm" keeps them.
            search_only: list[float] = []
            answers_cold: list[float] = []
            answers_warm: list[float] = []
            for query in queries:
                search_only.append(min(timed(lambda q=query: retrieved_sources(services, big.id, q, 6), args.tries)))
                cold_runs = []
                for _ in range(args.tries):
                    forget_passages()
                    cold_runs += timed(lambda q=query: answer(q), 1)
                answers_cold.append(min(cold_runs))
                answers_warm.append(min(timed(lambda q=query: answer(q), args.tries)))

            # Hybrid: every chunk embedded as the ingest does it, then the same questions again.
            server = FakeOpenAI()
            try:
                embed_cfg = cfg.replace(ai={"embeddings": "openai", "openai_api_key": "sk-bench",
                                            "openai_base_url": f"{server.url}/v1"})
                embedder = configured_embedder(embed_cfg)
                assert embedder is not None
                per_document: list[list[int]] = []
                for document in services.store.documents.list_for_course(big.id):
                    before = len(server.embedding_requests)
                    store_vectors(services.store, embedder, services.store.chunks.list_for_document(document.id),
                                  embed_cfg.ai.embedding_batch)
                    per_document.append([len(r.body["input"]) for r in server.embedding_requests[before:]])
                batches = [n for sizes in per_document for n in sizes]
                full = [n for sizes in per_document for n in sizes[:-1]]  # a document's last batch is its rest
                fewest = sum(-(-sum(sizes) // 64) for sizes in per_document)
                services._retrieval = Retrieval(services.store, embedder, embed_cfg.ai.embedding_min_similarity)
                services.retrieval.search(big.id, queries[0])
                hybrid_only: list[float] = []
                hybrid_answers: list[float] = []
                for query in queries:
                    hybrid_only.append(min(timed(lambda q=query: retrieved_sources(services, big.id, q, 6),
                                                 args.tries)))
                    hybrid_answers.append(min(timed(lambda q=query: answer(q), args.tries)))
            finally:
                server.close()
        finally:
            services.close()

    doc_base = statistics.median(doc_search)
    print(f"document: 100 pages, {len(pages_doc)} chunks; course: {chunk_count} chunks; local provider")
    print(f"retrieval only (one search in the document): median {doc_base:.1f} ms")
    for name, values in (("summarise 100-page document", summary), ("20 flashcards from it", cards)):
        median = statistics.median(values)
        print(f"{name}: median {median:.1f} ms, retrieval {doc_base:.1f} ms, ratio {median / doc_base:.1f}x")
    base50, base95 = statistics.median(search_only), p95(search_only)
    print(f"retrieval only on {chunk_count} chunks ({len(queries)} questions): p50 {base50:.2f} ms, "
          f"p95 {base95:.2f} ms")
    for name, values in (("chat answer, passages analysed afresh", answers_cold),
                         ("chat answer, passages already analysed", answers_warm)):
        chat50, chat95 = statistics.median(values), p95(values)
        print(f"{name}: p50 {chat50:.2f} ms, p95 {chat95:.2f} ms; ratio to retrieval p50 {chat50 / base50:.2f}x, "
              f"p95 {chat95 / base95:.2f}x (aim: p95 within 3x)")
    h50, h95 = statistics.median(hybrid_only), p95(hybrid_only)
    a50, a95 = statistics.median(hybrid_answers), p95(hybrid_answers)
    print(f"hybrid retrieval only (query vector from the test embedding server): p50 {h50:.2f} ms, p95 {h95:.2f} ms")
    print(f"chat answer with hybrid retrieval: p50 {a50:.2f} ms, p95 {a95:.2f} ms; ratio to hybrid retrieval "
          f"p50 {a50 / h50:.2f}x, p95 {a95 / h95:.2f}x (aim: p95 within 3x)")
    print(f"ingest with embeddings: {len(batches)} requests for {sum(batches)} chunks of {len(per_document)} "
          f"documents ({sum(batches) / len(batches):.0f} chunks per request; every request but a document's last "
          f"holds {min(full or [0])}-{max(full or [0])}; {fewest} requests at 64 per request; "
          f"aim: one request per >= 64 chunks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
