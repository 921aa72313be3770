"""The accounts part of the store contract, on SQLite and on MongoDB (mongomock or a real server)."""

from __future__ import annotations

import json
from typing import Any

from studybuddy.store.account_models import AccountToken, AuditEntry, SessionRecord
from studybuddy.store.cards import Card, Deck
from studybuddy.store.models import Artifact, Chunk, Course, Document, Item, Job, Page, User, new_id

from . import test_contract

store = test_contract.store  # the same parametrised fixture: every engine

NOW = 1_800_000_000.0


def _user(store: Any, email: str) -> User:
    return store.users.add(User(id=new_id(), email=email, password_hash="scrypt:secret-hash"))


def test_sessions_are_listed_touched_and_deleted(store: Any) -> None:
    alice, bob = _user(store, "alice@example.com"), _user(store, "bob@example.com")
    a1 = store.accounts.sessions.add(SessionRecord("a1", alice.id, 0, NOW + 60, created_at=NOW, last_seen_at=NOW))
    store.accounts.sessions.add(SessionRecord("a2", alice.id, 0, NOW - 1, remember=True, device="Firefox",
                                              created_at=NOW, last_seen_at=NOW + 5))
    store.accounts.sessions.add(SessionRecord("b1", bob.id, 0, NOW + 60, created_at=NOW, last_seen_at=NOW))
    assert store.accounts.sessions.get("a1") == a1
    assert [s.id for s in store.accounts.sessions.list_for_user(alice.id)] == ["a2", "a1"]
    assert store.accounts.sessions.get("a2").remember is True
    store.accounts.sessions.touch("a1", NOW + 10)
    assert store.accounts.sessions.get("a1").last_seen_at == NOW + 10
    assert store.accounts.sessions.delete_expired(NOW) == 1
    assert store.accounts.sessions.get("a2") is None
    store.accounts.sessions.add(SessionRecord("a3", alice.id, 0, NOW + 60))
    assert store.accounts.sessions.delete_for_user(alice.id, keep="a3") == 1
    assert [s.id for s in store.accounts.sessions.list_for_user(alice.id)] == ["a3"]
    store.accounts.sessions.delete("a3")
    assert store.accounts.sessions.list_for_user(alice.id) == []
    assert store.accounts.sessions.get("b1") is not None


def test_a_session_is_read_with_its_account_in_one_go(store: Any) -> None:
    alice, bob = _user(store, "alice@example.com"), _user(store, "bob@example.com")
    store.users.update(alice.id, display_name="אליס", is_admin=True, language="en")
    record = store.accounts.sessions.add(SessionRecord("a1", alice.id, 3, NOW + 60, remember=True,
                                                       created_at=NOW, last_seen_at=NOW))
    store.accounts.sessions.add(SessionRecord("b1", bob.id, 0, NOW + 60, created_at=NOW, last_seen_at=NOW))
    assert store.accounts.sessions.get_with_user("a1") == (record, store.users.get(alice.id))
    found = store.accounts.sessions.get_with_user("b1")
    assert found is not None and found[1] == store.users.get(bob.id)
    assert store.accounts.sessions.get_with_user("nobody") is None


def test_session_version_is_bumped_atomically(store: Any) -> None:
    alice = _user(store, "alice@example.com")
    assert store.accounts.bump_session_version(alice.id) == 1
    assert store.accounts.bump_session_version(alice.id) == 2
    assert store.users.get(alice.id).session_version == 2
    assert store.accounts.bump_session_version("nobody") == 0


def test_throttle_counts_failures_in_a_window_and_locks(store: Any) -> None:
    t = store.accounts.throttle
    assert t.get("account:a@example.com") is None
    assert [t.fail("account:a@example.com", NOW + i, 600) for i in range(3)] == [1, 2, 3]
    t.lock("account:a@example.com", NOW + 100)
    state = t.get("account:a@example.com")
    assert (state.failures, state.first_at, state.locked_until) == (3, NOW, NOW + 100)
    assert [s.key for s in t.locked(NOW + 50)] == ["account:a@example.com"]
    assert t.locked(NOW + 101) == []
    # After the window, counting starts again.
    assert t.fail("account:a@example.com", NOW + 700, 600) == 1
    assert t.get("account:a@example.com").first_at == NOW + 700
    t.fail("address:10.0.0.1", NOW, 600)
    t.lock("address:10.0.0.1", NOW + 5000)
    assert t.purge(NOW + 100, NOW + 800) == 0  # one still locked, one in its window
    assert t.purge(NOW + 800, NOW + 6000) == 2
    assert t.get("address:10.0.0.1") is None and t.get("account:a@example.com") is None
    t.fail("account:a@example.com", NOW, 600)
    t.clear("account:a@example.com")
    assert t.get("account:a@example.com") is None


def test_tokens_are_consumed_once_and_not_after_expiry(store: Any) -> None:
    alice = _user(store, "alice@example.com")
    store.accounts.tokens.add(AccountToken("t1", alice.id, "reset", NOW + 60, created_at=NOW))
    store.accounts.tokens.add(AccountToken("t2", alice.id, "verify", NOW + 60, created_at=NOW))
    assert store.accounts.tokens.get("t1").used_at is None
    assert store.accounts.tokens.consume("t1", NOW + 1)
    assert not store.accounts.tokens.consume("t1", NOW + 2)
    assert store.accounts.tokens.get("t1").used_at == NOW + 1
    assert not store.accounts.tokens.consume("t2", NOW + 61)
    store.accounts.tokens.delete_for_user(alice.id, "verify")
    assert store.accounts.tokens.get("t2") is None and store.accounts.tokens.get("t1") is not None
    store.accounts.tokens.delete_for_user(alice.id)
    assert store.accounts.tokens.get("t1") is None


def test_audit_log_lists_newest_first(store: Any) -> None:
    for i in range(3):
        store.accounts.audit.add(AuditEntry(f"e{i}", "admin", "disable", f"u{i}", {"n": i}, created_at=NOW + i))
    entries = store.accounts.audit.recent(2)
    assert [e.id for e in entries] == ["e2", "e1"] and entries[0].detail == {"n": 2}


def _everything_of(store: Any, alice: User) -> dict[str, Any]:
    course = store.courses.add(Course(new_id(), alice.id, "קורס"))
    blob = store.blobs.put(b"alice's file")
    doc = store.documents.add(Document(new_id(), course.id, alice.id, "a.pdf", blob_id=blob, size=12))
    store.pages.replace_for_document(doc.id, [Page(doc.id, 1, f"{alice.display_name or alice.email} page text")])
    store.chunks.replace_for_document(doc.id, [Chunk(new_id(), doc.id, course.id, 0, 1, f"{alice.email} chunk", "x")])
    store.artifacts.add(Artifact(new_id(), alice.id, course.id, "summary", {"text": f"{alice.email} summary"}))
    store.items.add(Item(new_id(), "review_mark", alice.id, {"grade": 3}, course_id=course.id, key="m1"))
    store.items.add(Item(new_id(), "note", alice.id, {"free": f"{alice.email} no course"}))
    store.jobs.add(Job(new_id(), "ping", "assess", alice.id))
    store.jobs.add(Job(new_id(), "ping", "assess", alice.id, course_id=course.id))
    store.counters.incr(f"ai_requests:{alice.id}:2026-01-01")
    store.counters.incr(f"course_version:{course.id}")
    store.accounts.sessions.add(SessionRecord(new_id(), alice.id, 0, NOW))
    store.accounts.tokens.add(AccountToken(new_id(), alice.id, "reset", NOW))
    store.accounts.audit.add(AuditEntry(new_id(), "admin-id", "disable", alice.id, {"email": alice.email}))
    deck = store.decks.add(Deck(new_id(), alice.id, course.id, f"{alice.email} deck"))
    card = Card(new_id(), alice.id, course.id, deck.id, f"{alice.email} front", "back")
    store.cards.add_many([card])
    return {"course": course, "blob": blob, "document": doc}


def _dump(store: Any) -> str:
    """Every row of every table or collection, as text."""
    if hasattr(store, "db") and hasattr(store.db, "list_collection_names"):
        rows = [d for name in store.db.list_collection_names() for d in store.db[name].find()]
    else:
        conn = store.db.conn()
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = [tuple(r) for t in tables for r in conn.execute(f'SELECT * FROM "{t}"')]
    return json.dumps(rows, default=str, ensure_ascii=False)


def test_erase_user_leaves_no_trace_and_spares_others(store: Any) -> None:
    alice, bob = _user(store, "alice@example.com"), _user(store, "bob@example.com")
    mine = _everything_of(store, alice)
    bobs = _everything_of(store, bob)
    assert alice.id in _dump(store)
    store.accounts.erase_user(alice.id)
    dump = _dump(store)
    for trace in (alice.id, alice.email, mine["course"].id, mine["document"].id, "alice@example.com page",
                  "alice@example.com chunk", "alice@example.com summary", "alice@example.com no course",
                  "alice@example.com deck", "alice@example.com front"):
        assert trace not in dump, trace
    assert not store.blobs.exists(mine["blob"])
    assert store.users.get(alice.id) is None
    assert store.counters.get(f"ai_requests:{alice.id}:2026-01-01") == 0
    # bob keeps everything, and the audit entry stays without saying about whom.
    assert store.courses.get(bobs["course"].id) is not None and store.blobs.exists(bobs["blob"])
    assert store.pages.get(bobs["document"].id, 1) is not None
    assert store.counters.get(f"course_version:{bobs['course'].id}") == 1
    assert len(store.accounts.sessions.list_for_user(bob.id)) == 1
    assert {e.target_id for e in store.accounts.audit.recent()} == {"deleted", bob.id}


def test_export_rows_hold_everything_owned_and_no_secrets(store: Any) -> None:
    alice, bob = _user(store, "alice@example.com"), _user(store, "bob@example.com")
    mine = _everything_of(store, alice)
    _everything_of(store, bob)
    rows = store.accounts.export_rows(alice.id)
    text = json.dumps(rows, default=str, ensure_ascii=False)
    assert rows["account"][0]["email"] == "alice@example.com"
    assert "secret-hash" not in text and "password_hash" not in text
    assert [c["id"] for c in rows["courses"]] == [mine["course"].id]
    assert rows["pages"][0]["text"] == "alice@example.com page text"
    assert {i["data"].get("free") for i in rows["items"]} == {None, "alice@example.com no course"}
    assert len(rows["jobs"]) == 2 and "sessions" not in rows and "account_tokens" not in rows
    assert [c["front"] for c in rows["cards"]] == ["alice@example.com front"] and len(rows["decks"]) == 1
    assert bob.id not in text


def test_admin_job_reads_and_changes(store: Any) -> None:
    alice = _user(store, "alice@example.com")
    failed = store.jobs.add(Job(new_id(), "ping", "assess", alice.id, state="dead", attempts=4,
                                error_user="too many", finished_at=NOW))
    queued = store.jobs.add(Job(new_id(), "ping", "assess", alice.id))
    assert [j.id for j in store.accounts.jobs_in_state("dead")] == [failed.id]
    assert not store.accounts.retry_job(queued.id, NOW)
    assert store.accounts.retry_job(failed.id, NOW)
    again = store.jobs.get(failed.id)
    assert (again.state, again.attempts, again.error_user, again.dispatched_at) == ("queued", 0, "", None)
    assert store.accounts.cancel_job(queued.id, NOW, "Cancelled.")
    assert store.jobs.get(queued.id).state == "failed" and store.jobs.get(queued.id).error_user == "Cancelled."
    assert not store.accounts.cancel_job(queued.id, NOW, "again")
    store.documents.add(Document(new_id(), store.courses.add(Course(new_id(), alice.id, "c")).id, alice.id,
                                 "a", size=100))
    assert store.accounts.storage_bytes() == {alice.id: 100}
