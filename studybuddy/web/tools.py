"""The study tools of a course: forms, results with citations, history, quizzes, chat, glossary."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, abort, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..ai import quota
from ..store.models import Artifact, Course, Item
from ..study import chat, glossary, quiz, requests, starter
from ..study.citations import PAGE_LABEL, citation_links, resolve_citations
from ..study.markdown import render_markdown
from ..study.mindmap import render_mind_map
from ..study.tools import FORM_TOOLS, ToolInputError, clean_params, question_language, ready_documents
from . import get_services
from .access import owned_artifact, owned_course
from .i18n import translate_stored

log = logging.getLogger(__name__)

bp = Blueprint("tools", __name__)

HISTORY_KINDS = ("summary", "flashcards", "quiz", "glossary", "homework", "study_guide", "faq", "mind_map")


def _input_message(exc: ToolInputError) -> str:
    params = {k: _(v) if isinstance(v, str) else v for k, v in exc.params.items()}
    return _(exc.template, **params)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _problem(status: int, message: str, course: Course | None = None, tool: str = "") -> Any:
    """A refused request: nothing was submitted; say why."""
    if _wants_json():
        return jsonify({"error": message}), status
    if course is None:
        return render_template("error.html", status=status, message=message), status
    return render_template("tools/index.html", **_tools_context(course), error=message, error_tool=tool,
                           form=request.form), status


def _history(course: Course, limit: int = 50) -> list[Artifact]:
    return get_services().store.artifacts.list_recent(course.id, current_user.id, HISTORY_KINDS, limit)


def _tools_context(course: Course) -> dict[str, Any]:
    services = get_services()
    return {
        "course": course,
        "documents": ready_documents(services, course.id),
        "history": _history(course, 20),
        "usage": quota.usage(services.store, services.config, current_user),
        "max_chars": services.config.quota.max_question_chars,
    }


def _refusal(exc: quota.QuotaExceeded) -> str:
    """Today's AI requests are used up: the message, in the student's language."""
    return _("You have used all %(limit)s AI requests for today. The limit resets at %(time)s (%(zone)s) "
             "on %(date)s.", limit=exc.limit, time=f"{exc.reset_at:%H:%M}", zone=exc.reset_at.tzname() or "",
             date=f"{exc.reset_at:%Y-%m-%d}")


def _submit(tool: str, course: Course, params: dict[str, Any]) -> Any:
    """The charged job, or the refusal; the caller turns either into a response."""
    try:
        return requests.submit_tool(get_services(), current_user, tool, course.id, params), ""
    except quota.QuotaExceeded as exc:
        return None, _refusal(exc)


def _quota_response(message: str, course: Course | None, tool: str = "", page: str | None = None) -> Any:
    """429 with the quota message and when it resets; nothing was submitted."""
    if page is not None and not _wants_json():
        response = make_response(page)
    else:
        response = make_response(_problem(429, message, course, tool)[0])
    response.status_code = 429
    response.headers["Retry-After"] = str(int(quota.seconds_until_reset(get_services().config)) + 1)
    return response


@bp.route("/courses/<course_id>/tools")
@login_required
def index(course_id: str) -> Any:
    return render_template("tools/index.html", **_tools_context(owned_course(course_id)), form={})


@bp.route("/courses/<course_id>/tools/<tool>", methods=["POST"])
@login_required
def start(course_id: str, tool: str) -> Any:
    course = owned_course(course_id)
    if tool not in FORM_TOOLS or tool == "chat":
        abort(404)
    services = get_services()
    raw = request.get_json(silent=True) if request.is_json else request.form
    try:
        params = clean_params(tool, raw or {}, services.config)
    except ToolInputError as exc:
        return _problem(400, _input_message(exc), course, tool)
    document_id = params.get("document_id", "")
    if document_id and document_id not in {d.id for d in ready_documents(services, course.id)}:
        return _problem(400, _("Choose a document of this course that is ready."), course, tool)
    job, refusal = _submit(tool, course, params)
    if refusal:
        return _quota_response(refusal, course, tool)
    if _wants_json():
        return jsonify({"job_id": job.id, "status_url": url_for("api.job_status", job_id=job.id)}), 202
    return redirect(url_for("tools.wait", course_id=course.id, job_id=job.id))


@bp.route("/courses/<course_id>/jobs/<job_id>")
@login_required
def wait(course_id: str, job_id: str) -> Any:
    course = owned_course(course_id)
    job = get_services().store.jobs.get(job_id)
    if job is None or job.owner_id != current_user.id or job.course_id != course.id:
        abort(404)
    if job.state == "succeeded" and job.result_ref:
        return redirect(url_for("tools.result", artifact_id=job.result_ref))
    return render_template("tools/wait.html", course=course, job=job)


def _citations(artifact: Artifact) -> dict[int, Any]:
    return resolve_citations(get_services().store, artifact.content.get("sources", []), current_user.id)


@bp.route("/results/<artifact_id>")
@login_required
def result(artifact_id: str) -> Any:
    artifact = owned_artifact(artifact_id)
    course = owned_course(artifact.course_id)
    if artifact.kind == "chat":
        conversation_id = str(artifact.content.get("conversation_id", ""))
        return redirect(url_for("tools.conversation", course_id=course.id, conversation_id=conversation_id))
    if artifact.kind == "quiz":
        return redirect(url_for("tools.take_quiz", artifact_id=artifact.id))
    if artifact.kind not in HISTORY_KINDS:
        abort(404)
    citations = _citations(artifact)
    links = citation_links(citations, _(PAGE_LABEL))
    markdown = render_markdown(str(artifact.content.get("markdown", "")), links)
    extra: dict[str, Any] = {}
    if artifact.kind == "mind_map":
        extra["svg"] = render_mind_map(artifact.content, rtl=artifact.content.get("language") == "he",
                                       label=_("Mind map: %(title)s", title=artifact.title))
    return render_template(f"tools/result_{artifact.kind}.html", course=course, artifact=artifact,
                           content=artifact.content, citations=citations, markdown=markdown,
                           render=lambda text: render_markdown(text, links), **extra)


@bp.route("/courses/<course_id>/history")
@login_required
def history(course_id: str) -> Any:
    course = owned_course(course_id)
    return render_template("tools/history.html", course=course, history=_history(course, 500))


# quizzes -------------------------------------------------------------------------------------
def _owned_quiz(artifact_id: str) -> Artifact:
    artifact = owned_artifact(artifact_id)
    if artifact.kind != "quiz":
        abort(404)
    return artifact


@bp.route("/quizzes/<artifact_id>")
@login_required
def take_quiz(artifact_id: str) -> Any:
    artifact = _owned_quiz(artifact_id)
    course = owned_course(artifact.course_id)
    return render_template("tools/quiz_take.html", course=course, artifact=artifact,
                           questions=quiz.questions(artifact), attempts=quiz.attempts(get_services().store, artifact),
                           max_chars=get_services().config.quota.max_question_chars, error="",
                           keep=_kept_answers(artifact, request.args.get("retry", "")))


def _kept_answers(artifact: Artifact, attempt_id: str) -> dict[int, Any]:
    """"Retry the ones I got wrong": the answers of an earlier attempt that were right (kept as they
    were), by question number; the page asks the others again."""
    if not attempt_id:
        return {}
    attempt = _owned_attempt(attempt_id)
    if attempt.parent_id != artifact.id or attempt.data.get("pending"):
        abort(404)
    answers = attempt.data.get("answers", [])
    return {i: answers[i] for i, res in enumerate(attempt.data.get("results", []))
            if res.get("correct") and i < len(answers)}


@bp.route("/quizzes/<artifact_id>/attempts", methods=["POST"])
@login_required
def submit_quiz(artifact_id: str) -> Any:
    artifact = _owned_quiz(artifact_id)
    course = owned_course(artifact.course_id)
    services = get_services()
    try:
        answers = quiz.parse_answers(artifact, request.form, services.config.quota.max_question_chars)
    except ToolInputError as exc:
        return render_template("tools/quiz_take.html", course=course, artifact=artifact,
                               questions=quiz.questions(artifact), attempts=quiz.attempts(services.store, artifact),
                               max_chars=services.config.quota.max_question_chars, error=_input_message(exc),
                               form=request.form), 400
    try:
        attempt = requests.submit_attempt(services, current_user, course, artifact, answers)
    except quota.QuotaExceeded as exc:
        return _quota_response(_refusal(exc), None)
    return redirect(url_for("tools.quiz_attempt", attempt_id=attempt.id))


def _owned_attempt(attempt_id: str) -> Item:
    attempt = get_services().store.items.get(attempt_id)
    if attempt is None or attempt.kind != quiz.ATTEMPT or attempt.owner_id != current_user.id:
        abort(404)
    return attempt


@bp.route("/quiz-attempts/<attempt_id>")
@login_required
def quiz_attempt(attempt_id: str) -> Any:
    attempt = _owned_attempt(attempt_id)
    artifact = _owned_quiz(attempt.parent_id)
    course = owned_course(artifact.course_id)
    job = quiz.grading_job(get_services().store, attempt)
    citations = _citations(artifact)
    links = citation_links(citations, _(PAGE_LABEL))
    rows = list(zip(quiz.questions(artifact), attempt.data.get("answers", []), attempt.data.get("results", [])))
    return render_template("tools/quiz_attempt.html", course=course, artifact=artifact, attempt=attempt, rows=rows,
                           job=job, citations=citations, render=lambda text: render_markdown(text, links))


# chat ----------------------------------------------------------------------------------------
def _owned_conversation(course: Course, conversation_id: str) -> Item:
    found = chat.owned_conversation(get_services().store, conversation_id, current_user.id, course.id)
    if found is None:
        abort(404)
    return found


def _chat_page(course: Course, conversation: Item | None, status: int = 200, error: str = "") -> Any:
    store = get_services().store
    thread = chat.messages(store, conversation) if conversation else []
    pending = ""
    if thread and thread[-1].data.get("role") == "user":
        job = store.jobs.get(str(thread[-1].data.get("job_id", "")))
        if job is not None and not job.finished:
            pending = job.id
        elif job is not None and job.state != "succeeded":
            error = error or (translate_stored(job.error_user) if job.error_user
                              else _("Something went wrong while working on this."))
    rendered = [(m, _render_message(m)) for m in thread]
    return render_template("tools/chat.html", course=course, conversation=conversation, thread=rendered,
                           conversations=chat.conversations(store, current_user.id, course.id), pending=pending,
                           error=error, max_chars=get_services().config.quota.max_question_chars,
                           has_material=bool(ready_documents(get_services(), course.id))), status


def _render_message(message: Item) -> dict[str, Any]:
    text = str(message.data.get("text", ""))
    if message.data.get("role") != "assistant":
        return {"html": None, "citations": {}}
    artifact = get_services().store.artifacts.get(str(message.data.get("artifact_id", "")))
    citations = _citations(artifact) if artifact and artifact.owner_id == current_user.id else {}
    cited = {n: c for n, c in citations.items() if artifact and n in artifact.content.get("citations", [])}
    return {"html": render_markdown(text, citation_links(citations, _(PAGE_LABEL))), "citations": cited}


@bp.route("/courses/<course_id>/chat")
@login_required
def chat_home(course_id: str) -> Any:
    return _chat_page(owned_course(course_id), None)


@bp.route("/courses/<course_id>/chat/<conversation_id>")
@login_required
def conversation(course_id: str, conversation_id: str) -> Any:
    course = owned_course(course_id)
    return _chat_page(course, _owned_conversation(course, conversation_id))


@bp.route("/courses/<course_id>/chat", methods=["POST"])
@bp.route("/courses/<course_id>/chat/<conversation_id>", methods=["POST"])
@login_required
def ask(course_id: str, conversation_id: str = "") -> Any:
    course = owned_course(course_id)
    services = get_services()
    current = _owned_conversation(course, conversation_id) if conversation_id else None
    try:
        params = clean_params("chat", request.form, services.config)
    except ToolInputError as exc:
        return _chat_page(course, current, 400, _input_message(exc))
    params["language"] = question_language(params["question"], params["language"])
    try:
        current, job = requests.ask(services, current_user, course, current, params)
    except quota.QuotaExceeded as exc:
        refusal = _refusal(exc)
        return _quota_response(refusal, None, page=_chat_page(course, current, 429, refusal)[0])
    if _wants_json():
        return jsonify({"job_id": job.id, "conversation_id": current.id}), 202
    return redirect(url_for("tools.conversation", course_id=course.id, conversation_id=current.id))


@bp.route("/results/<artifact_id>/message")
@login_required
def message_fragment(artifact_id: str) -> Any:
    """One assistant answer as HTML, for the chat page to show as soon as its job finishes."""
    artifact = owned_artifact(artifact_id)
    if artifact.kind != "chat":
        abort(404)
    store = get_services().store
    conversation = store.items.get(str(artifact.content.get("conversation_id", "")))
    if conversation is None or conversation.owner_id != current_user.id:
        abort(404)
    message = next((m for m in chat.messages(store, conversation) if m.data.get("artifact_id") == artifact.id), None)
    if message is None:
        abort(404)
    return render_template("tools/_message.html", message=message, rendered=_render_message(message))


# glossary ------------------------------------------------------------------------------------
@bp.route("/courses/<course_id>/glossary")
@login_required
def glossary_page(course_id: str) -> Any:
    course = owned_course(course_id)
    query = request.args.get("q", "").strip()[:200]
    terms = glossary.course_terms(get_services().store, course.id, current_user.id)
    shown = glossary.search(terms, query) if query else terms
    return render_template("tools/glossary.html", course=course, terms=shown, total=len(terms), query=query)


@bp.route("/courses/<course_id>/starter", methods=["POST"])
@login_required
def make_starter(course_id: str) -> Any:
    """The starter summary and flashcards offered on the course page of a fresh course."""
    course = owned_course(course_id)
    services = get_services()
    if not starter.is_fresh(services, course.id):
        return redirect(url_for("courses.view", course_id=course.id))
    language = request.form.get("language", "")
    if language not in ("he", "en"):
        language = services.config.app.default_language
    try:
        requests.make_starter(services, current_user, course, language)
    except quota.QuotaExceeded as exc:
        return _quota_response(_refusal(exc), course)
    return redirect(url_for("courses.view", course_id=course.id))


def starter_offer(course: Course) -> bool:
    """Offer a fresh course's starter summary and flashcards (ingest.starter_tools: offer)."""
    services = get_services()
    return services.config.ingest.starter_tools == "offer" and starter.is_fresh(services, course.id)


def init_app(app: Flask) -> None:
    """Let the course page's tool grid show the latest results and the starter offer."""

    def recent_tools(course: Course, limit: int = 5) -> list[Artifact]:
        return _history(course, limit)

    app.jinja_env.globals["starter_offer"] = starter_offer

