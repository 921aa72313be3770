"""The study guide, FAQ and mind map (offline), the mind map's SVG, and the starter pack."""

from __future__ import annotations

import re
from typing import Any

import pytest

from studybuddy.ai.base import ToolRequest
from studybuddy.ai.offline import LocalProvider
from studybuddy.ai.schemas import validate
from studybuddy.services import Services
from studybuddy.store.models import User
from studybuddy.study import starter
from studybuddy.study.mindmap import render_mind_map
from tests.conftest import csrf_token, make_config
from tests.study.conftest import add_course, wait_job
from tests.study.study_material import sources
from tests.study.test_web import post, run_form

STRUCTURED = [
    "# הרצאה 3: ביקוש והיצע\n## ביקוש (Demand)\nביקוש (Demand) הוא הכמות שצרכנים רוצים ויכולים לקנות בכל מחיר.\n"
    "מוצר נחות (Inferior good) הוא מוצר שהביקוש לו יורד כאשר ההכנסה עולה.\n",
    "## היצע (Supply)\nהיצע (Supply) הוא הכמות שיצרנים מוכנים למכור בכל מחיר.\n"
    "מחסור (Shortage) – מצב שבו הכמות המבוקשת גדולה מהכמות המוצעת.\n",
    "## גמישות (Elasticity)\nגמישות המחיר של הביקוש (Price elasticity of demand) היא מידת התגובה של הכמות לשינוי "
    "במחיר.\nהדוגמה המוכרת לביקוש קשיח היא מוצרים חיוניים כמו תרופות ולחם.\n",
]


def run(tool: str, language: str = "he", passages: list[str] | None = None, **params: Any) -> dict[str, Any]:
    request = ToolRequest(tool=tool, sources=sources(passages or STRUCTURED, "lecture.pdf"), language=language,
                          params=params)
    return validate(tool, LocalProvider().run(request).data, request)


def test_the_glossary_reads_bracketed_english_names_and_skips_examples() -> None:
    terms = {t["term"]: t["definition"] for t in run("glossary", count=30)["terms"]}
    assert terms["מוצר נחות (Inferior good)"].startswith("מוצר שהביקוש לו יורד")
    assert "מחסור (Shortage)" in terms and "ביקוש (Demand)" in terms
    assert not any("דוגמה" in term for term in terms), "an example is not a term"


def test_summary_covers_every_heading_and_is_titled_by_the_material() -> None:
    data = run("summary", length="short", style="bullets")
    assert data["title"] == "סיכום — הרצאה 3: ביקוש והיצע"
    for heading in ("### ביקוש (Demand)", "### היצע (Supply)", "### גמישות (Elasticity)"):
        assert heading in data["markdown"]


def test_study_guide_faq_and_mind_map_from_the_structure() -> None:
    guide = run("study_guide")
    assert {c["term"] for c in guide["concepts"]} >= {"ביקוש (Demand)", "היצע (Supply)"}
    assert guide["questions"] and guide["essay_prompts"] and guide["glossary"]
    faq = run("faq", language="en")
    assert faq["items"][0]["question"] == "What should I know about ביקוש (Demand)?"
    mind_map = run("mind_map")
    assert [b["label"] for b in mind_map["branches"]] == ["ביקוש (Demand)", "היצע (Supply)", "גמישות (Elasticity)"]
    assert "מוצר נחות" in mind_map["branches"][0]["children"]
    assert mind_map["title"] == "הרצאה 3: ביקוש והיצע"


def test_offline_grading_feedback_shows_words_as_written_and_the_model_answer() -> None:
    data = run("quiz_grade", question="מהו מוצר נחות?", expected="מוצר שהביקוש לו יורד כאשר ההכנסה עולה",
               answer="מוצר זול")
    assert data["approximate"] is True and "„מוצר שהביקוש לו יורד כאשר ההכנסה עולה”" in data["feedback"]
    assert "הכנסה" in data["feedback"] and "הכנסה" not in data["feedback"].replace("ההכנסה", "")
    assert not re.search(r"[א-ת][םןץףך][א-ת]|[א-ת]מ\b", data["feedback"].replace("„", " ")), data["feedback"]


def test_offline_homework_shows_the_formula_and_says_it_does_not_solve() -> None:
    passages = ["## גמישות\nנוסחה: גמישות = אחוז השינוי בכמות / אחוז השינוי במחיר\n"
                "ביקוש גמיש (Elastic demand) הוא ביקוש שהגמישות שלו גדולה מ־1 בערך מוחלט."]
    data = run("homework", passages=passages, problem="המחיר עלה ב־10% והכמות ירדה ב־20%. מהי הגמישות?")
    assert "`גמישות = אחוז השינוי בכמות / אחוז השינוי במחיר`" in data["markdown"]
    assert "בלי מודל שפה אני לא פותר" in data["markdown"] and data["citations"] == [1]


@pytest.mark.parametrize("rtl", [True, False])
def test_the_mind_map_svg_is_mirrored_for_hebrew_and_escapes_text(rtl: bool) -> None:
    data = {"title": "מבוא <b>", "branches": [{"label": "ביקוש", "children": ["a", "b"], "source": 1},
                                            {"label": "היצע", "children": [], "source": 2}]}
    svg = str(render_mind_map(data, rtl=rtl))
    assert svg.startswith("<svg") and "<script" not in svg and "style=" not in svg
    assert "מבוא &lt;b&gt;" in svg and svg.count("<rect") == 5 and svg.count("<path") == 4
    xs = [float(x) for x in re.findall(r'<rect x="([\d.]+)"', svg)]
    centre, branch = xs[0], xs[1]
    assert (centre > branch) if rtl else (centre < branch), "the centre stands where reading starts"
    assert 'direction="rtl"' in svg


def test_formats_from_the_tools_page(login_as: Any, services: Services, users: dict[str, User],
                                     worker: Any) -> None:
    client = login_as("alice")
    course, document = add_course(services, users["alice"], STRUCTURED, name="מיקרו")
    page = client.get(f"/courses/{course.id}/tools").get_data(as_text=True)
    for tool in ("study_guide", "faq", "mind_map"):
        assert f'action="/courses/{course.id}/tools/{tool}"' in page
    job = run_form(client, services, users["alice"], course.id, "mind_map", language="he")
    result = client.get(f"/results/{job.result_ref}").get_data(as_text=True)
    assert '<svg class="mind-map"' in result and "ביקוש (Demand)" in result
    assert services.store.artifacts.get(job.result_ref).title == "מפת חשיבה — הרצאה 3: ביקוש והיצע"
    job = run_form(client, services, users["alice"], course.id, "faq", language="en")
    assert "What should I know about" in client.get(f"/results/{job.result_ref}").get_data(as_text=True)
    job = run_form(client, services, users["alice"], course.id, "study_guide", language="he")
    guide = client.get(f"/results/{job.result_ref}").get_data(as_text=True)
    assert re.search(rf'href="/documents/{document.id}/file#page=\d+"', guide)
    # bob cannot see alice's result, nor start a format in her course
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    bob = login_as("bob")
    assert bob.get(f"/results/{job.result_ref}").status_code == 404
    assert post(bob, f"/courses/{course.id}/tools/faq", language="he").status_code == 404


def test_starter_pack_is_offered_once_and_only_to_the_owner(login_as: Any, services: Services,
                                                            users: dict[str, User], worker: Any) -> None:
    course, _ = add_course(services, users["alice"], STRUCTURED, name="מיקרו")
    bob = login_as("bob")
    assert post(bob, f"/courses/{course.id}/starter").status_code == 404
    assert not services.store.jobs.list_for_owner(users["bob"].id)
    bob.post("/logout", data={"csrf_token": csrf_token(bob)})
    client = login_as("alice")
    assert 'id="make-starter"' in client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert post(client, f"/courses/{course.id}/starter", language="he").status_code == 302
    jobs = services.store.jobs.list_for_owner(users["alice"].id, course.id)
    assert sorted(j.type for j in jobs) == ["flashcards", "summary"]
    for job in jobs:
        assert wait_job(services, job.id).state == "succeeded"
    assert 'id="make-starter"' not in client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert post(client, f"/courses/{course.id}/starter").status_code == 302  # nothing more is made
    assert len(services.store.jobs.list_for_owner(users["alice"].id, course.id)) == 2


def test_starter_pack_is_made_after_the_first_upload_when_set(tmp_path: Any, users: dict[str, User]) -> None:
    from studybuddy.courses import create_course
    from studybuddy.ingest.upload import accept_text
    from studybuddy.worker.handlers import default_handlers
    from studybuddy.worker.runner import process_job

    services = Services(make_config(tmp_path, ingest={"starter_tools": "make"}))
    try:
        course = create_course(services.store, users["alice"].id, "מיקרו")
        first = accept_text(services, course, "הרצאה 3", "\n".join(STRUCTURED))
        assert process_job(services, first.job_id, "w", default_handlers()) == "succeeded"
        made = sorted(j.type for j in services.store.jobs.list_for_owner(users["alice"].id, course.id))
        assert made == ["flashcards", "ingest", "summary"]
        second = accept_text(services, course, "הרצאה 4", "\n".join(STRUCTURED))
        assert process_job(services, second.job_id, "w", default_handlers()) == "succeeded"
        assert len(services.store.jobs.list_for_owner(users["alice"].id, course.id)) == 4  # no second pack
        assert starter.after_first_document(services, course.id, second.id) == []
    finally:
        services.close()
