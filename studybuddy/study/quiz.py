"""Taking a quiz: answers checked and kept as attempts; multiple choice graded exactly, open answers
graded by the AI router (offline: keyword and fuzzy matching, labelled approximate)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..ai.base import SourceChunk, ToolRequest
from ..jobs.errors import PermanentError
from ..store.base import Store
from ..store.models import Artifact, Item, Job, new_id
from .tools import N_, ToolInputError, run_ai

if TYPE_CHECKING:
    from ..worker.runner import JobContext

ATTEMPT = "quiz_attempt"


def questions(quiz: Artifact) -> list[dict[str, Any]]:
    found = quiz.content.get("questions")
    return [q for q in found if isinstance(q, dict)] if isinstance(found, list) else []


def parse_answers(quiz: Artifact, form: Mapping[str, Any], max_chars: int) -> list[Any]:
    """One answer per question from a form (`q0`, `q1`...): an option index, a text, or None."""
    answers: list[Any] = []
    for i, question in enumerate(questions(quiz)):
        raw = str(form.get(f"q{i}") or "").strip()
        if question.get("type") == "mc":
            if not raw:
                answers.append(None)
                continue
            if not raw.isdigit() or not 0 <= int(raw) < len(question.get("options", [])):
                raise ToolInputError(N_("Question %(n)s: choose one of the options."), n=i + 1)
            answers.append(int(raw))
        else:
            if len(raw) > max_chars:
                raise ToolInputError(N_("Question %(n)s: the answer is too long (%(length)s characters, "
                                        "the limit is %(limit)s)."), n=i + 1, length=len(raw), limit=max_chars)
            answers.append(raw or None)
    if all(a is None for a in answers):
        raise ToolInputError(N_("Answer at least one question before submitting."))
    return answers


def _total(results: list[dict[str, Any]]) -> float | None:
    if any(r.get("score") is None for r in results) or not results:
        return None
    return round(sum(float(r["score"]) for r in results) / len(results), 2)


def start_attempt(store: Store, quiz: Artifact, answers: list[Any]) -> Item:
    """Grade the multiple-choice answers now; open answers wait for a grading job (unless blank)."""
    results: list[dict[str, Any]] = []
    for question, answer in zip(questions(quiz), answers):
        if question.get("type") == "mc":
            correct = answer is not None and answer == question.get("correct")
            results.append({"score": 1.0 if correct else 0.0, "correct": correct, "feedback": "",
                            "approximate": False})
        elif answer is None:
            results.append({"score": 0.0, "correct": False, "feedback": "", "approximate": False})
        else:
            results.append({"score": None, "correct": None, "feedback": "", "approximate": False})
    pending = any(r["score"] is None for r in results)
    now = time.time()
    return store.items.add(Item(
        id=new_id(), kind=ATTEMPT, owner_id=quiz.owner_id, course_id=quiz.course_id, parent_id=quiz.id,
        data={"answers": answers, "results": results, "pending": pending, "score": _total(results),
              "job_id": ""},
        created_at=now, updated_at=now,
    ))


def set_attempt_job(store: Store, attempt: Item, job_id: str) -> Item:
    """The attempt with its grading job, as the caller shows it. Not written back: the worker may
    have graded it already (it takes a job at once), and only the worker writes the attempt (with
    the job's id) once graded; a write from here could put the ungraded copy back over it."""
    return dataclasses.replace(attempt, data={**attempt.data, "job_id": job_id})


def grading_job(store: Store, attempt: Item) -> Job | None:
    """The job grading an attempt's open answers (None if there is none)."""
    job_id = str(attempt.data.get("job_id") or "")
    if job_id:
        return store.jobs.get(job_id)
    for job in store.jobs.list_for_owner(attempt.owner_id, attempt.course_id or None, limit=200):
        if job.type == "quiz_grade" and job.params.get("attempt_id") == attempt.id:
            return job
    return None


def attempts(store: Store, quiz: Artifact) -> list[Item]:
    found = store.items.find(ATTEMPT, owner_id=quiz.owner_id, parent_id=quiz.id)
    return sorted(found, key=lambda i: i.created_at, reverse=True)


def _source_for(ctx: JobContext, quiz: Artifact, number: int) -> list[SourceChunk]:
    for source in quiz.content.get("sources", []):
        if source.get("number") == number:
            chunk = ctx.store.chunks.get(str(source.get("chunk_id", "")))
            if chunk is None:
                return []
            return [SourceChunk(number=1, chunk_id=chunk.id, document_id=chunk.document_id,
                                document_name=str(source.get("document_name", "")), page=chunk.page,
                                text=chunk.text)]
    return []


def grade_job(ctx: JobContext) -> str:
    """The quiz_grade job: grade each open answer of an attempt against the expected answer."""
    store = ctx.store
    attempt = store.items.get(str(ctx.job.params.get("attempt_id", "")))
    if attempt is None or attempt.kind != ATTEMPT or attempt.owner_id != ctx.job.owner_id:
        raise PermanentError("This quiz attempt no longer exists.")
    quiz = store.artifacts.get(attempt.parent_id)
    if quiz is None or quiz.owner_id != ctx.job.owner_id:
        raise PermanentError("This quiz no longer exists.")
    language = str(quiz.content.get("language") or ctx.config.app.default_language)
    results = [dict(r) for r in attempt.data.get("results", [])]
    answers = list(attempt.data.get("answers", []))
    todo = [i for i, r in enumerate(results) if r.get("score") is None]
    graded_by: set[str] = set()
    for done, i in enumerate(todo):
        question = questions(quiz)[i]
        ctx.progress(10 + int(80 * done / max(len(todo), 1)), "Grading the answers")
        sources = _source_for(ctx, quiz, int(question.get("source", 0)))
        request = ToolRequest(tool="quiz_grade", sources=sources, language=language, params={
            "question": question.get("stem", ""), "expected": question.get("answer", ""),
            "answer": str(answers[i] or ""),
        })
        result = run_ai(ctx.services, request)
        graded_by.add(f"{result.provider}/{result.model}")
        score = float(result.data["score"])
        results[i] = {"score": round(score, 2), "correct": score >= 0.6, "feedback": result.data["feedback"],
                      "approximate": bool(result.data.get("approximate")) or result.provider == "local"}
    data = {**attempt.data, "results": results, "pending": False, "score": _total(results),
            "graded_by": sorted(graded_by), "job_id": ctx.job.id}
    store.items.put(dataclasses.replace(attempt, data=data, updated_at=time.time()))
    return attempt.id
