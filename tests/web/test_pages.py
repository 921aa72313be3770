"""Every page with mixed-direction fixtures: user text isolated, messages in the UI's direction,
citation labels translated; dates in the student's language; a manifest per language; no emoji;
no section highlighted on error pages; anonymous pages without a session; fingerprinted static files."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from bs4 import BeautifulSoup, NavigableString

from studybuddy.courses import create_course
from studybuddy.services import Services
from studybuddy.store.models import Artifact, Document, Page, User, new_id
from tests.study.conftest import add_course

from ..conftest import csrf_token, login

# Names a student might give, mixing Hebrew and Latin letters and digits.
COURSE = "ביולוגיה 101 - Biology"
FILE = "התא - סיכום הרצאה 2.docx"
FILE_STEM = "התא - סיכום הרצאה 2"
NAME = "Dana דנה"
EMOJI = re.compile("[\U0001F300-\U0001FAFF\U00002600-\U000027BF]")


def _isolated(node: Any) -> bool:
    """True if the text sits in <bdi>, an element with dir=auto, or a form field (its own direction)."""
    for parent in node.parents:
        if parent.name == "bdi" or parent.get("dir") == "auto":
            return True
        if parent.name in ("title", "option", "textarea", "script", "style"):
            return True
    return False


@pytest.fixture
def world(services: Services, users: dict[str, User]) -> dict[str, Any]:
    store = services.store
    alice = store.users.update(users["alice"].id, display_name=NAME) or users["alice"]
    course, document = add_course(services, alice, ["התא היא יחידת החיים הבסיסית. ה-mRNA נושא מידע."] * 2,
                                  name=COURSE, document_name=FILE,
                                  mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    store.pages.replace_for_document(document.id, [Page(document_id=document.id, number=1, text="# כותרת\nטקסט")])
    store.documents.update(document.id, page_count=1)
    sources = [{"number": 1, "document_id": document.id, "document_name": FILE, "page": 2, "chunk_id": ""}]
    summary = store.artifacts.add(Artifact(
        id=new_id(), owner_id=alice.id, course_id=course.id, kind="summary", title=f"סיכום — {FILE}",
        content={"markdown": "התא בנוי מקרום. ה-mRNA [1] נושא מידע.", "sources": sources, "citations": [1],
                 "params": {}}, provider="local", model="extractive-1", created_at=time.time() - 300))
    return {"alice": alice, "course": course, "document": document, "summary": summary}


def _pages(world: dict[str, Any]) -> list[str]:
    course, document, summary = world["course"], world["document"], world["summary"]
    return ["/library", f"/courses/{course.id}", f"/courses/{course.id}/tools", f"/courses/{course.id}/history",
            f"/results/{summary.id}", f"/documents/{document.id}/pages/1", f"/courses/{course.id}/chat",
            f"/courses/{course.id}/glossary", "/review", "/settings"]


@pytest.mark.parametrize("lang", ["he", "en"])
def test_user_text_is_isolated_on_every_page(client: Any, world: dict[str, Any], lang: str) -> None:
    login(client, world["alice"].email)
    client.post(f"/language/{lang}", data={"csrf_token": csrf_token(client)})
    for url in _pages(world):
        response = client.get(url)
        assert response.status_code == 200, url
        html = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        assert html.html["dir"] == ("rtl" if lang == "he" else "ltr")
        for text in (COURSE, FILE, FILE_STEM, NAME):
            for node in html.find_all(string=lambda s, t=text: isinstance(s, NavigableString) and t in s):
                assert _isolated(node), f"{url}: {text!r} is not isolated in <{node.parent.name}>"
        for stem in html.find_all(string=lambda s: isinstance(s, NavigableString) and s.endswith(FILE_STEM)):
            ext = stem.next_sibling
            kept = ext is not None and ext.name == "span" and "file-ext" in ext["class"] and ext.get_text() == ".docx"
            assert kept, f"{url}: the extension of {FILE!r} is not kept with the number before it"
        for marker in html.select(".cite"):
            assert marker.name == "bdi" or marker.find_parent("bdi"), f"{url}: a citation marker is not isolated"
        for message in html.select(".flash, .error, [role=alert]"):
            assert message.get("dir") != "auto", f"{url}: a message takes its direction from its first letter"
        assert not EMOJI.search(html.get_text()), f"{url}: emoji need a font many systems lack"


def test_citation_labels_are_translated(client: Any, world: dict[str, Any]) -> None:
    login(client, world["alice"].email)
    page = BeautifulSoup(client.get(f"/results/{world['summary'].id}").get_data(as_text=True), "html.parser")
    cite = page.select_one("bdi a.cite")
    assert cite is not None and cite.get_text() == "[1]"
    assert cite["title"] == f"\u2068{FILE_STEM}\u200e.docx\u2069, עמ' 2"
    assert "p." not in cite["title"]


def test_dates_in_the_students_language(client: Any, world: dict[str, Any]) -> None:
    login(client, world["alice"].email)
    url = f"/courses/{world['course'].id}/history"
    he = BeautifulSoup(client.get(url).get_data(as_text=True), "html.parser").select_one("time")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", he["datetime"])
    assert he.get_text() == "לפני 5 דקות" and re.search(r"\d{4}", he["title"])
    client.post("/language/en", data={"csrf_token": csrf_token(client)})
    en = BeautifulSoup(client.get(url).get_data(as_text=True), "html.parser").select_one("time")
    assert en.get_text() == "5 minutes ago" and en["datetime"] == he["datetime"] and en["title"] != he["title"]


def test_a_manifest_per_language(client: Any) -> None:
    he = client.get("/manifest.webmanifest").get_json(force=True)
    en = client.get("/manifest.webmanifest?lang=en").get_json(force=True)
    assert (he["lang"], he["dir"], en["lang"], en["dir"]) == ("he", "rtl", "en", "ltr")
    assert he["id"] == en["id"] == "/" and he["name"] != en["name"] and "Avner" in en["name"]
    assert [s["name"] for s in en["shortcuts"]] == ["My courses", "Chat with Avner", "Review flashcards"]
    client.post("/language/en")
    page = client.get("/login").get_data(as_text=True)
    assert '<link rel="manifest" href="/manifest.webmanifest?lang=en">' in page


def test_error_pages_highlight_no_section(client: Any, world: dict[str, Any]) -> None:
    login(client, world["alice"].email)
    assert 'aria-current="page"' in client.get(f"/courses/{world['course'].id}").get_data(as_text=True)
    for url in (f"/courses/{'0' * 24}", "/no-such-page", f"/results/{'0' * 24}"):
        response = client.get(url)
        assert response.status_code == 404 and 'aria-current' not in response.get_data(as_text=True)


def test_anonymous_pages_need_no_session(client: Any, users: dict[str, User]) -> None:
    response = client.get("/")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert 'name="csrf-token"' not in response.get_data(as_text=True)
    # A visitor switches language without a token; a student's switch (saved to the account) needs one.
    switched = client.post("/language/en", data={"next": "/"})
    assert switched.status_code == 302 and 'lang="en"' in client.get("/").get_data(as_text=True)
    login(client, users["alice"].email)
    assert client.post("/language/he", data={"next": "/library"}).status_code == 400
    assert client.post("/language/he", data={"next": "/library", "csrf_token": csrf_token(client)}).status_code == 302


def test_user_text_in_translated_sentences_is_escaped(client: Any, services: Services, users: dict[str, User]) -> None:
    services.store.users.update(users["alice"].id, display_name="<b>Alice</b>")
    login(client, users["alice"].email)
    page = client.get("/library").get_data(as_text=True)
    assert "<bdi>&lt;b&gt;Alice&lt;/b&gt;</bdi>" in page and "<b>Alice</b>" not in page


def test_static_files_are_fingerprinted_and_cached_for_a_year(client: Any) -> None:
    page = client.get("/login").get_data(as_text=True)
    css = re.search(r'href="(/static/css/app\.([0-9a-f]{12})\.css)"', page)
    assert css
    long_lived = client.get(css.group(1))
    assert long_lived.status_code == 200 and "immutable" in long_lived.headers["Cache-Control"]
    assert "max-age=31536000" in long_lived.headers["Cache-Control"]
    plain = client.get("/static/css/app.css")
    assert plain.status_code == 200 and plain.headers["Cache-Control"] == "no-cache"
    assert plain.get_data() == long_lived.get_data()
    assert client.get("/static/css/app.000000000000.css").status_code == 404  # an old release's name
    worker = client.get("/sw.js").get_data(as_text=True)
    shell = json.loads(re.search(r"var SHELL_URLS = (\[.*?\]);", worker).group(1))
    assert css.group(1) in shell
    for url in shell:
        assert client.get(url).status_code == 200, url


def test_phone_menu_holds_navigation_language_and_install(client: Any, users: dict[str, User]) -> None:
    login(client, users["alice"].email)
    page = BeautifulSoup(client.get("/library").get_data(as_text=True), "html.parser")
    menu = page.select_one("details.phone-menu nav")
    assert menu is not None
    assert menu.select_one('a[href="/library"]') and menu.select_one('a[href="/review"]')
    assert menu.select_one("[data-switch-language]") and menu.select_one("[data-install-app]")
    assert menu.select_one("form[data-logout]")


def test_offline_page_keeps_its_navigation(client: Any) -> None:
    page = BeautifulSoup(client.get("/offline?lang=he").get_data(as_text=True), "html.parser")
    nav = page.select_one("nav.main-nav")
    assert nav is not None and nav.select_one('a[href="/review"]') and nav.select_one('a[href="/offline?lang=en"]')
    assert page.select_one("details.phone-menu") is not None


def test_a_document_without_its_name_in_storage(client: Any, services: Services, users: dict[str, User]) -> None:
    """The live list's rows come from the server with every part a reloaded page has."""
    course = create_course(services.store, users["alice"].id, COURSE)
    services.store.documents.add(Document(id=new_id(), course_id=course.id, owner_id=users["alice"].id,
                                          display_name=FILE, kind="docx", status="ready", page_count=3))
    login(client, users["alice"].email)
    rows = BeautifulSoup(client.get(f"/courses/{course.id}/documents/rows").get_data(as_text=True), "html.parser")
    page = BeautifulSoup(client.get(f"/courses/{course.id}").get_data(as_text=True), "html.parser")
    fresh, shown = rows.select_one("li[data-document-id]"), page.select_one("li[data-document-id]")
    assert fresh is not None and str(fresh) == str(shown)
    assert fresh.select_one('[data-role="kind"]').get_text() == "DOCX"
    assert fresh.select_one('a[data-role="name"]') and fresh.select_one('[data-role="pages"]')
    assert fresh.select_one("button[formaction$='/delete']")


def test_fragment_cache_keeps_the_recent_and_renders_once() -> None:
    from studybuddy.web.fragments import FragmentCache

    cache = FragmentCache(size=2)
    made: list[str] = []

    def render(text: str) -> Any:
        return lambda: made.append(text) or text

    assert cache.get("a", render("A")) == "A" and cache.get("a", render("other")) == "A"
    cache.get("b", render("B"))
    cache.get("a", render("A2"))  # "a" is the most recent now
    cache.get("c", render("C"))  # "b" goes
    assert cache.get("a", render("A3")) == "A" and cache.get("b", render("B2")) == "B2"
    assert made == ["A", "B", "C", "B2"]


def test_a_cached_course_page_still_shows_each_change(client: Any, world: dict[str, Any], services: Services) -> None:
    """The parts kept between requests change when what they show changes."""
    login(client, world["alice"].email)
    url = f"/courses/{world['course'].id}"
    first = client.get(url).get_data(as_text=True)
    assert client.get(url).get_data(as_text=True).count(FILE_STEM) == first.count(FILE_STEM)
    services.store.documents.update(world["document"].id, display_name="שם חדש.pdf")
    services.store.artifacts.rename(world["summary"].id, "כותרת חדשה")
    page = client.get(url).get_data(as_text=True)
    assert "שם חדש" in page and "כותרת חדשה" in page and FILE_STEM not in page.split("work-list")[0]
    # The page's own token, in the kept tools' form too (the placeholder never shows).
    tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', page))
    meta = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert meta and tokens == {meta.group(1)} and "\x00" not in page
