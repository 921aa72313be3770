"""Avner chat: conversations per student and course, kept in the item store, answered by jobs."""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

from ..ai.base import ToolRequest
from ..jobs.errors import PermanentError
from ..store.base import Store
from ..store.models import Item, new_id
from .tools import (
    NO_MATERIAL,
    RETRIEVAL_K,
    check_course,
    fell_back,
    job_params,
    ready_documents,
    retrieved_sources,
    run_ai,
    save_artifact,
)

if TYPE_CHECKING:
    from ..worker.runner import JobContext

CONVERSATION = "chat_conversation"
MESSAGE = "chat_message"
HISTORY_TURNS = 8


def start_conversation(store: Store, owner_id: str, course_id: str, first_question: str) -> Item:
    title = " ".join(first_question.split())[:80] or "…"
    return store.items.add(Item(id=new_id(), kind=CONVERSATION, owner_id=owner_id, course_id=course_id,
                                data={"title": title}))


def conversations(store: Store, owner_id: str, course_id: str) -> list[Item]:
    found = store.items.find(CONVERSATION, owner_id=owner_id, course_id=course_id)
    return sorted(found, key=lambda i: i.updated_at, reverse=True)


def owned_conversation(store: Store, conversation_id: str, owner_id: str, course_id: str) -> Item | None:
    item = store.items.get(conversation_id) if conversation_id else None
    if item is None or item.kind != CONVERSATION or item.owner_id != owner_id or item.course_id != course_id:
        return None
    return item


def messages(store: Store, conversation: Item) -> list[Item]:
    found = store.items.find(MESSAGE, owner_id=conversation.owner_id, parent_id=conversation.id)
    return sorted(found, key=lambda i: (i.created_at, i.data.get("role") != "user"))


def add_message(store: Store, conversation: Item, role: str, text: str, **extra: Any) -> Item:
    now = time.time()
    message = store.items.add(Item(
        id=new_id(), kind=MESSAGE, owner_id=conversation.owner_id, course_id=conversation.course_id,
        parent_id=conversation.id, data={"role": role, "text": text, **extra}, created_at=now, updated_at=now,
    ))
    store.items.put(dataclasses.replace(conversation, updated_at=now))
    return message


def history(store: Store, conversation: Item, before: str = "") -> list[dict[str, str]]:
    """The last turns before a message, as the model sees them."""
    turns: list[dict[str, str]] = []
    for message in messages(store, conversation):
        if message.id == before:
            break
        if message.data.get("text"):
            turns.append({"role": str(message.data.get("role")), "text": str(message.data["text"])})
    return turns[-HISTORY_TURNS:]


def answer_job(ctx: JobContext) -> str:
    """The chat job: answer the student's question from the best-matching passages of the course."""
    check_course(ctx)
    params = job_params(ctx, "chat")
    store = ctx.store
    conversation = owned_conversation(store, params["conversation_id"], ctx.job.owner_id, ctx.job.course_id)
    if conversation is None:
        raise PermanentError("This conversation no longer exists.")
    if not ready_documents(ctx.services, ctx.job.course_id):
        raise PermanentError(NO_MATERIAL)
    ctx.progress(10, "Looking through the material")
    question = params["question"]
    sources = retrieved_sources(ctx.services, ctx.job.course_id, question, RETRIEVAL_K["chat"])
    turns = history(store, conversation, before=str(ctx.job.params.get("message_id", "")))
    request = ToolRequest(tool="chat", sources=sources, language=params["language"],
                          params={"question": question, "history": turns, "simple": params["simple"]})
    ctx.progress(40, "Avner is thinking")
    result = run_ai(ctx.services, request)
    fallback = fell_back(ctx.services, "chat", result)
    artifact = save_artifact(ctx, "chat", question[:80], request, result,
                             extra={"conversation_id": conversation.id, "fallback": fallback})
    add_message(store, conversation, "assistant", str(result.data["markdown"]), artifact_id=artifact.id,
                job_id=ctx.job.id, fallback=fallback)
    return artifact.id
