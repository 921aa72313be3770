"""The offline provider, split by job: text analysis (text), the material of a request
(material), summaries (summarise), flashcards (cards), quizzes (quiz), grading (grading),
chat and homework (answer), glossary, and the study guide, FAQ and mind map (guide)."""

from __future__ import annotations

from .grading import grade_open_answer
from .material import forget_passages, rank_for_question
from .provider import THIN_MATERIAL, LocalProvider
from .summarise import summary_budget

__all__ = ["THIN_MATERIAL", "LocalProvider", "forget_passages", "grade_open_answer", "rank_for_question",
           "summary_budget"]
