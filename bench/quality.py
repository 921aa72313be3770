"""Quality of the study tools on the evaluation set in bench/data/quality.yaml (two courses,
Hebrew with English terms and English with a Hebrew tutorial): retrieval recall@5 and MRR,
same-language and cross-language, offline (BM25 + the course's bilingual lexicon) and hybrid
(BM25 fused with vectors from the deterministic test embedding server, tests/ai/embedding_model.py,
reached through the real openai SDK); glossary precision and recall; flashcards built on gold
terms; multiple-choice validity; the homework exercise with a model (the fake OpenAI server).
The baseline, measured in the same run, is keyword retrieval without the lexicon.

Usage: python bench/quality.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studybuddy.ai.arith import arithmetic_errors  # noqa: E402
from studybuddy.ai.base import ToolRequest  # noqa: E402
from studybuddy.ai.embeddings import configured_embedder  # noqa: E402
from studybuddy.ai.offline import LocalProvider  # noqa: E402
from studybuddy.ai.offline import text as tk  # noqa: E402
from studybuddy.config import load_config  # noqa: E402
from studybuddy.ingest.pipeline import build_chunks  # noqa: E402
from studybuddy.ingest.retrieval import Retrieval  # noqa: E402
from studybuddy.ingest.vectors import store_vectors  # noqa: E402
from studybuddy.services import Services  # noqa: E402
from studybuddy.store.models import Course, Document, Page, User, new_id  # noqa: E402
from studybuddy.study.tools import material_sources, retrieved_sources  # noqa: E402
from tests.ai.fakes import FakeOpenAI, ok  # noqa: E402

DATA = ROOT / "bench" / "data" / "quality.yaml"
K = 5


def load_courses(services: Services, data: dict[str, Any]) -> dict[str, tuple[Course, list[Document]]]:
    store = services.store
    owner = store.users.add(User(id=new_id(), email="bench@example.com", password_hash="x"))
    out: dict[str, tuple[Course, list[Document]]] = {}
    for spec in data["courses"]:
        course = store.courses.add(Course(id=new_id(), owner_id=owner.id, name=spec["name"]))
        documents = []
        for doc in spec["documents"]:
            document = store.documents.add(Document(id=new_id(), course_id=course.id, owner_id=owner.id,
                                                    display_name=doc["name"], status="ready",
                                                    page_count=len(doc["pages"])))
            pages = [Page(document.id, n, text) for n, text in enumerate(doc["pages"], 1)]
            store.pages.replace_for_document(document.id, pages)
            store.chunks.replace_for_document(document.id, build_chunks(
                document, pages, services.config.ingest.chunk_words, services.config.ingest.chunk_overlap_words))
            documents.append(document)
        out[spec["id"]] = (course, documents)
    return out


def rank_of(retrieval: Retrieval, course: Course, documents: list[Document], question: dict[str, Any]) -> int:
    """1-based rank of the gold page among the first K passages, 0 when it is not there."""
    gold = (documents[question["doc"]].id, question["page"])
    hits = retrieval.search(course.id, question["q"], k=K)
    for rank, hit in enumerate(hits, 1):
        if (hit.chunk.document_id, hit.chunk.page) == gold:
            return rank
    return 0


def retrieval_figures(retrieval: Retrieval, courses: dict[str, Any], questions: list[dict[str, Any]]
                      ) -> dict[str, tuple[float, float, int]]:
    out: dict[str, tuple[float, float, int]] = {}
    for name, wanted in (("same-language", False), ("cross-language", True)):
        ranks = [rank_of(retrieval, *courses[q["course"]], q) for q in questions if bool(q.get("cross")) == wanted]
        recall = sum(1 for r in ranks if r) / len(ranks)
        mrr = sum(1 / r for r in ranks if r) / len(ranks)
        out[name] = (recall, mrr, len(ranks))
    return out


def matches(entry: str, gold: dict[str, str]) -> bool:
    names = [tk.normalize(gold["term"]), tk.normalize(gold["alt"])]
    found = " ".join(tk.words(entry))
    stripped = " ".join(sorted(tk.word_forms(w), key=len)[0] for w in tk.words(entry))
    return any(name and (" ".join(tk.words(name)) in (found, stripped) or
                         f" {' '.join(tk.words(name))} " in f" {found} ") for name in names) or \
        any(name and " ".join(sorted(tk.word_forms(w), key=len)[0] for w in tk.words(name)) == stripped
            for name in names)


def run_tool(tool: str, sources: list[Any], language: str, **params: Any) -> dict[str, Any]:
    return LocalProvider().run(ToolRequest(tool=tool, sources=sources, language=language, params=params)).data


def mcq_valid(question: dict[str, Any], gold: list[dict[str, str]]) -> bool:
    options = question["options"]
    normal = [" ".join(tk.words(o)) for o in options]
    if len(options) < 3 or len(set(normal)) != len(options):
        return False
    correct = [i for i, o in enumerate(normal) if o == " ".join(tk.words(question["answer"]))]
    if correct != [question["correct"]]:
        return False
    # no distractor is the answer's own gold term (in the other language, say)
    answer_terms = {g["term"] for g in gold if names_exactly(question["answer"], g)}
    return not any(answer_terms & {g["term"] for g in gold if names_exactly(o, g)}
                   for i, o in enumerate(options) if i != question["correct"])


def names_exactly(option: str, gold: dict[str, str]) -> bool:
    """The option is the gold term or its other-language name (prefix letters aside)."""
    def key(text: str) -> str:
        return " ".join(sorted(tk.word_forms(w), key=len)[0] for w in tk.words(text))

    return key(option) in (key(gold["term"]), key(gold["alt"]))


def homework_with_model(data: dict[str, Any], courses: dict[str, Any], tmp: Path) -> tuple[bool, int, str]:
    """The exercise through the real openai SDK against the fake server, whose first reply has an
    arithmetic slip: the answer is accepted only once the stated arithmetic is right."""
    spec = data["homework"]
    server = FakeOpenAI()
    wrong = {"markdown": "Qd = Qs: 120 - 3P = 20 + 2P, so 100 = 5P and P = 100 / 5 = 25. "
                         "Q = 120 - 3 × 25 = 45.", "steps": ["120 - 3P = 20 + 2P", "P = 100 / 5 = 25",
                                                             "Q = 120 - 3 × 25 = 45"], "citations": [1]}
    right = {"markdown": "Qd = Qs: 120 - 3P = 20 + 2P, so 100 = 5P and P = 100 / 5 = 20. "
                         "Q = 120 - 3 × 20 = 60, and Qs = 20 + 2 × 20 = 60 agrees.",
             "steps": ["Set Qd = Qs: 120 - 3P = 20 + 2P", "Collect: 100 = 5P", "P = 100 / 5 = 20",
                       "Q = 120 - 3 × 20 = 60"], "citations": [1]}
    server.queue(ok(wrong), ok(right))
    try:
        cfg = load_config(env={}).replace(app={"state_dir": str(tmp / "hw")}, web={"secret_key": "bench"},
                                          ai={"openai_api_key": "sk-bench", "openai_base_url": f"{server.url}/v1",
                                              "homework": ["openai", "local"], "timeout_seconds": 10.0,
                                              "translate_queries": False})
        services = Services(cfg, store=SERVICES_STORE[0])
        course, _ = courses[spec["course"]]
        sources = retrieved_sources(services, course.id, spec["problem"], 6)
        result = services.ai.run(ToolRequest(tool="homework", sources=sources, language="he",
                                             params={"problem": spec["problem"]}))
        text = "\n".join([result.data["markdown"], *result.data["steps"]])
        answers = spec["answers"]
        correct = (f"= {answers['price']}" in text and f"= {answers['quantity']}" in text
                   and not arithmetic_errors(text) and result.provider == "openai")
        asked_steps = "formula → substitution" in json.dumps(server.requests[0].body, ensure_ascii=False)
        return correct, len(server.requests), "full steps asked" if asked_steps else "steps NOT asked"
    finally:
        server.close()


SERVICES_STORE: list[Any] = []


def main() -> int:
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    questions = data["questions"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cfg = load_config(env={}).replace(app={"state_dir": str(tmp)}, web={"secret_key": "bench"},
                                          broker={"url": "memory://"})
        services = Services(cfg)
        SERVICES_STORE.append(services.store)
        server = FakeOpenAI()
        try:
            courses = load_courses(services, data)
            store = services.store
            baseline = retrieval_figures(Retrieval(store, use_lexicon=False), courses, questions)
            offline = retrieval_figures(Retrieval(store), courses, questions)
            embed_cfg = cfg.replace(ai={"embeddings": "openai", "openai_api_key": "sk-bench",
                                        "openai_base_url": f"{server.url}/v1"})
            embedder = configured_embedder(embed_cfg)
            assert embedder is not None
            chunks = [c for course, _ in courses.values() for c in store.chunks.list_for_course(course.id)]
            store_vectors(store, embedder, chunks, embed_cfg.ai.embedding_batch)
            embed_requests = len(server.embedding_requests)
            hybrid = retrieval_figures(Retrieval(store, embedder, embed_cfg.ai.embedding_min_similarity),
                                       courses, questions)
            hybrid_retrieval = Retrieval(store, embedder, embed_cfg.ai.embedding_min_similarity)
            unrelated = [len(hybrid_retrieval.search(courses[u["course"]][0].id, u["q"], k=K))
                         + len(Retrieval(store).search(courses[u["course"]][0].id, u["q"], k=K))
                         for u in data["unrelated"]]

            gold_terms = data["terms"]
            micro_sources = material_sources(services, courses["micro"][0].id, "", 60)
            entries = run_tool("glossary", micro_sources, "he", count=100)["terms"]
            good = [e for e in entries if any(matches(e["term"], g) for g in gold_terms["micro"])]
            found_gold = [g for g in gold_terms["micro"] if any(matches(e["term"], g) for e in entries)]
            precision = len(good) / len(entries) if entries else 0.0
            recall = len(found_gold) / len(gold_terms["micro"])

            on_term = on_term_or_fact = total_cards = valid = total_mcq = 0
            for key, (course, _) in courses.items():
                sources = material_sources(services, course.id, "", 40)
                gold = gold_terms[key]
                language = next(c["language"] for c in data["courses"] if c["id"] == key)
                for card in run_tool("flashcards", sources, language, count=20)["cards"]:
                    total_cards += 1
                    named = any(matches(card["front"].split(":", 1)[-1], g) for g in gold)
                    fact = any(matches(card["back"], g) for g in gold) or \
                        any(tk.contains_phrase(s.text, card["back"]) for s in sources)
                    on_term += named
                    on_term_or_fact += named or fact
                for q in run_tool("quiz", sources, language, count=25, kind="mc")["questions"]:
                    total_mcq += 1
                    valid += mcq_valid(q, gold)
            homework_ok, homework_calls, steps_note = homework_with_model(data, courses, tmp)
        finally:
            server.close()
            services.close()

    cross = sum(1 for q in questions if q.get("cross"))
    terms = sum(len(v) for v in data["terms"].values())
    print(f"evaluation set: {len(data['courses'])} courses, {len(questions)} questions ({cross} in the other "
          f"language), {terms} gold terms, 1 homework exercise; recall@{K} and MRR by gold page")
    print("embeddings: deterministic test embedding server (bag of concepts over a fixed Hebrew-English word "
          "list, tests/ai/embedding_model.py) through the openai SDK")
    for name, aims in (("same-language", {"offline": 0.9}), ("cross-language", {"offline": 0.6, "hybrid": 0.9})):
        b, o, h = baseline[name], offline[name], hybrid[name]
        print(f"{name} ({o[2]} questions): recall@{K} keyword-only baseline {b[0]:.2f} (MRR {b[1]:.2f}); "
              f"offline {o[0]:.2f} (MRR {o[1]:.2f}, {o[0] / max(b[0], 0.01):.1f}x baseline; aim >= "
              f"{aims['offline']}); hybrid with embeddings {h[0]:.2f} (MRR {h[1]:.2f}"
              + (f"; aim >= {aims['hybrid']})" if "hybrid" in aims else ")"))
    print(f"unrelated questions: {sum(unrelated)} passages sent for {len(unrelated)} questions (aim: 0)")
    print(f"embedding requests at ingest: {embed_requests} for {len(chunks)} chunks "
          f"(batch {embed_cfg.ai.embedding_batch}; aim: one request per >= 64 chunks)")
    print(f"glossary, Hebrew course: precision {precision:.2f} (aim >= 0.8), recall {recall:.2f} (aim >= 0.7); "
          f"{len(entries)} entries, {len(found_gold)}/{len(gold_terms['micro'])} gold terms found")
    print(f"flashcards: {total_cards} cards, front names a gold term {on_term / total_cards:.0%}, built on a gold "
          f"term or a fact of the material {on_term_or_fact / total_cards:.0%} (aim >= 80%)")
    print(f"multiple choice: {valid}/{total_mcq} valid (one correct option, distinct distractors) = "
          f"{valid / max(total_mcq, 1):.0%} (aim 100%)")
    print(f"homework with a model (test server, first reply had an arithmetic slip): numeric answer "
          f"{'correct' if homework_ok else 'WRONG'} after {homework_calls} model calls, {steps_note} "
          "(aim: correct)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
