"""What every study tool shares: checking a request, gathering the material, asking the AI router,
and keeping the answer as an artifact with its sources."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..ai.base import AllProvidersFailed, ProviderError, SourceChunk, ToolRequest, ToolResult
from ..ai.offline import THIN_MATERIAL
from ..jobs.errors import PermanentError
from ..store.models import Artifact, Chunk, Document, new_id
from .citations import sources_record
from .titles import result_title

if TYPE_CHECKING:
    from ..config import Config
    from ..services import Services
    from ..worker.runner import JobContext

log = logging.getLogger(__name__)

# The tools a student starts from a form (quiz_grade is started by submitting a quiz).
FORM_TOOLS = ("summary", "flashcards", "quiz", "glossary", "homework", "chat", "study_guide", "faq", "mind_map")
# The formats that take no options besides the language and the document.
FORMAT_TOOLS = ("study_guide", "faq", "mind_map")

NO_MATERIAL = "This course has no ready material yet"
AI_DOWN = AllProvidersFailed.user_message
TOO_THIN = "There is too little text in this material for this tool. Add more material and try again."

# How many passages each tool reads: the whole material (sampled evenly) or the best matches.
MATERIAL_LIMIT = {"summary": 60, "flashcards": 40, "quiz": 40, "glossary": 60, "study_guide": 60, "faq": 60,
                  "mind_map": 60}
RETRIEVAL_K = {"chat": 6, "homework": 6}


def N_(message: str) -> str:
    """Marks a message for translation where it is shown (the web layer translates it)."""
    return message


class ToolInputError(ValueError):
    """A request a student can fix. `template % params` is the message; the web layer shows it
    translated (string params are translated too: they are labels marked with N_)."""

    def __init__(self, template: str, **params: Any) -> None:
        super().__init__(template % params if params else template)
        self.template = template
        self.params = params


def _int_in(raw: Mapping[str, Any], name: str, default: int, low: int, high: int, label: str) -> int:
    value = raw.get(name, default)
    if value in (None, ""):
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ToolInputError(N_("%(label)s must be a whole number from %(low)s to %(high)s."),
                             label=label, low=low, high=high) from None
    if not low <= number <= high:
        raise ToolInputError(N_("%(label)s must be from %(low)s to %(high)s."), label=label, low=low, high=high)
    return number


def _choice(raw: Mapping[str, Any], name: str, options: tuple[str, ...], label: str) -> str:
    value = str(raw.get(name) or options[0]).strip()
    if value not in options:
        raise ToolInputError(N_("%(label)s must be one of: %(options)s."), label=label,
                             options=", ".join(options))
    return value


def _text(raw: Mapping[str, Any], name: str, limit: int, label: str) -> str:
    value = str(raw.get(name) or "").strip()
    if not value:
        raise ToolInputError(N_("%(label)s is empty."), label=label)
    if len(value) > limit:
        raise ToolInputError(N_("%(label)s is too long: %(length)s characters, the limit is %(limit)s."),
                             label=label, length=len(value), limit=limit)
    return value


def _flag(raw: Mapping[str, Any], name: str) -> bool:
    value = raw.get(name, False)
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "on", "yes")


def clean_params(tool: str, raw: Mapping[str, Any], config: Config) -> dict[str, Any]:
    """The validated parameters of a tool request; raises ToolInputError with a clear message."""
    default_language = config.app.default_language
    language = _choice(raw, "language", (default_language, "en" if default_language == "he" else "he"),
                       N_("The language"))
    params: dict[str, Any] = {"language": language}
    limit = config.quota.max_question_chars
    if tool == "summary":
        params["length"] = _choice(raw, "length", ("medium", "short", "long"), N_("The length"))
        params["style"] = _choice(raw, "style", ("bullets", "prose", "exam"), N_("The style"))
    elif tool == "flashcards":
        params["count"] = _int_in(raw, "count", 10, 1, 50, N_("The number of cards"))
    elif tool == "quiz":
        params["count"] = _int_in(raw, "count", 5, 1, 25, N_("The number of questions"))
        params["kind"] = _choice(raw, "kind", ("mc", "open"), N_("The question type"))
    elif tool == "glossary":
        params["count"] = _int_in(raw, "count", 30, 1, 100, N_("The number of terms"))
    elif tool == "homework":
        params["problem"] = _text(raw, "problem", limit, N_("The problem"))
    elif tool == "chat":
        params["question"] = _text(raw, "question", limit, N_("The question"))
        params["simple"] = _flag(raw, "simple")
        params["conversation_id"] = str(raw.get("conversation_id") or "")
    elif tool in FORMAT_TOOLS:
        pass
    else:
        raise ToolInputError(N_("Unknown tool %(tool)s."), tool=tool)
    document_id = str(raw.get("document_id") or "").strip()
    if document_id and tool in MATERIAL_LIMIT:
        params["document_id"] = document_id
    return params


def question_language(question: str, default: str) -> str:
    """Avner answers in the language the student wrote in (Hebrew or English), else `default`."""
    hebrew = sum(1 for ch in question if "\u05d0" <= ch <= "\u05ea")
    latin = sum(1 for ch in question if ch.isascii() and ch.isalpha())
    if hebrew > latin:
        return "he"
    if latin > hebrew:
        return "en"
    return default


def ready_documents(services: Services, course_id: str) -> list[Document]:
    return [d for d in services.store.documents.list_for_course(course_id) if d.status == "ready"]


def _number(chunks: list[tuple[Chunk, str]]) -> list[SourceChunk]:
    return [
        SourceChunk(number=i, chunk_id=c.id, document_id=c.document_id, document_name=name, page=c.page,
                    text=c.text)
        for i, (c, name) in enumerate(chunks, 1)
    ]


def _spread(items: list[Any], limit: int) -> list[Any]:
    """`limit` items spread evenly over the list, in order (the whole list if it is short)."""
    if len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def material_sources(services: Services, course_id: str, document_id: str, limit: int) -> list[SourceChunk]:
    """Passages of one ready document, or of every ready document of the course, sampled evenly."""
    documents = ready_documents(services, course_id)
    if document_id:
        documents = [d for d in documents if d.id == document_id]
        if not documents:
            raise PermanentError("This document is not ready yet, or it is not in this course.")
    chunks: list[tuple[Chunk, str]] = []
    for document in documents:
        found = sorted(services.store.chunks.list_for_document(document.id), key=lambda c: c.ordinal)
        chunks += [(c, document.display_name) for c in found if c.text.strip()]
    if not chunks:
        raise PermanentError(NO_MATERIAL)
    return _number(_spread(chunks, limit))


def retrieved_sources(services: Services, course_id: str, query: str, k: int) -> list[SourceChunk]:
    """The passages of a course that best match a question (empty when nothing is relevant);
    the question is also searched as the model translates it, when the course has material in
    the other language and a model is configured."""
    hits = services.retrieval.search(course_id, query, k=k, extra_queries=translations(services, course_id, query))
    return _number([(hit.chunk, hit.document_name) for hit in hits])


def translations(services: Services, course_id: str, query: str) -> list[str]:
    """The question in the course's other language, by the model (nothing offline or on failure)."""
    config = services.config
    if not config.ai.translate_queries or not services.ai.order_for("translate"):
        return []
    asked = question_language(query, "")
    other = "en" if asked == "he" else "he" if asked == "en" else ""
    if not other or other not in services.retrieval.languages(course_id):
        return []
    request = ToolRequest(tool="translate", sources=[], language=other, params={"text": query, "to": other})
    try:
        text = str(services.ai.run(request).data["text"]).strip()
    except ProviderError as exc:
        log.info("no translation of the question (%s): searching it as asked", exc)
        return []
    return [text] if text and text != query else []


def fell_back(services: Services, tool: str, result: ToolResult) -> bool:
    """True when the answer came from the offline provider although a model comes first for the tool."""
    order = services.ai.order_for(tool)
    return result.provider == "local" and bool(order) and order[0] != "local"


def run_ai(services: Services, request: ToolRequest) -> ToolResult:
    """Ask the router; a failure of every provider becomes a message the student understands."""
    try:
        return services.ai.run(request)  # type: ignore[no-any-return]
    except AllProvidersFailed as exc:
        if THIN_MATERIAL in exc.errors.get("local", ""):
            raise PermanentError(TOO_THIN, internal=str(exc.errors)) from exc
        raise PermanentError(AI_DOWN, internal=f"all providers failed: {exc.errors}") from exc
    except ProviderError as exc:
        raise PermanentError(AI_DOWN, internal=f"provider error: {exc}") from exc


def save_artifact(
    ctx: JobContext,
    kind: str,
    title: str,
    request: ToolRequest,
    result: ToolResult,
    extra: Mapping[str, Any] | None = None,
) -> Artifact:
    """Keep a tool's answer with the sources it cites and what it cost."""
    job = ctx.job
    content = {
        **result.data,
        "sources": sources_record(request.sources),
        "params": {k: v for k, v in request.params.items() if k != "history"},
        "language": request.language,
        **(extra or {}),
    }
    artifact = Artifact(
        id=new_id(),
        owner_id=job.owner_id,
        course_id=job.course_id,
        kind=kind,
        content=content,
        document_id=str(job.params.get("document_id") or job.document_id or ""),
        title=title[:200],
        job_id=job.id,
        provider=result.provider,
        model=result.model,
        latency_ms=result.latency_ms,
        tokens_in=result.tokens_in,
        tokens_out=result.tokens_out,
    )
    return ctx.store.artifacts.add(artifact)


def job_params(ctx: JobContext, tool: str) -> dict[str, Any]:
    """The job's parameters checked again in the worker (a job record is input too)."""
    try:
        return clean_params(tool, ctx.job.params, ctx.config)
    except ToolInputError as exc:
        raise PermanentError(str(exc)) from exc


def check_course(ctx: JobContext) -> None:
    course = ctx.store.courses.get(ctx.job.course_id) if ctx.job.course_id else None
    if course is None or course.owner_id != ctx.job.owner_id:
        raise PermanentError("This course no longer exists.")


def run_material_tool(ctx: JobContext, tool: str) -> str:
    """Summary, flashcards, quiz and glossary: read the material, ask, keep the artifact."""
    check_course(ctx)
    params = job_params(ctx, tool)
    language = params.pop("language")
    ctx.progress(10, "Reading the material")
    sources = material_sources(ctx.services, ctx.job.course_id, params.pop("document_id", ""),
                               MATERIAL_LIMIT[tool])
    ctx.progress(30, "Writing")
    request = ToolRequest(tool=tool, sources=sources, language=language, params=params)
    result = run_ai(ctx.services, request)
    ctx.progress(90, "Saving")
    names = sorted({s.document_name for s in sources})
    if len(names) == 1:
        scope = names[0]
    else:
        course = ctx.store.courses.get(ctx.job.course_id)
        scope = course.name if course else ""
    if tool == "mind_map" and result.data.get("title"):
        scope = str(result.data["title"])
    title = result_title(tool, language, scope, params)
    artifact = save_artifact(ctx, tool, title, request, result)
    log.info("%s %s made by %s/%s in %d ms", tool, artifact.id, result.provider, result.model, result.latency_ms)
    return artifact.id
