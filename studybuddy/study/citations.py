"""Where a cited source lives: (document name, page, link that opens it at that place)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from ..ai.base import SourceChunk
from ..store.base import Store
from ..store.models import Document


def N_(message: str) -> str:
    """Marks a message for the catalogs; the web layer translates it where it is shown."""
    return message


# "file, p. 3": the web layer passes this template translated ("file, עמ' 3"). The file name is
# wrapped in Unicode isolates (FSI ... PDI), so a Hebrew name with ".docx" or an English name in
# a Hebrew sentence keeps its own order, in tooltips too.
PAGE_LABEL = N_("%(name)s, p. %(page)s")
FSI, PDI, LRM = "\u2068", "\u2069", "\u200e"
_EXTENSION = re.compile(r"(\.[A-Za-z0-9]{1,5})$")


@dataclass(frozen=True)
class Citation:
    number: int
    document_id: str
    document_name: str
    page: int
    url: str  # empty when the document no longer exists

    @property
    def label(self) -> str:
        return self.label_with(PAGE_LABEL)

    def label_with(self, template: str) -> str:
        """The label from a (translated) template with %(name)s and %(page)s."""
        # A left-to-right mark before a file extension keeps "2.docx" together (not "docx.2").
        name = FSI + _EXTENSION.sub(LRM + r"\1", self.document_name) + PDI
        return template % {"name": name, "page": self.page} if self.page else name


def is_pdf(document: Document) -> bool:
    return document.mime == "application/pdf" or document.kind == "pdf" or \
        document.display_name.lower().endswith(".pdf")


def source_url(document: Document, page: int) -> str:
    """The original PDF opened at the page, or the extracted text of that page or slide."""
    if is_pdf(document):
        return f"/documents/{document.id}/file#page={max(page, 1)}"
    return f"/documents/{document.id}/pages/{max(page, 1)}"


def sources_record(sources: list[SourceChunk]) -> list[dict[str, Any]]:
    """What an artifact keeps of the sources its answer was built from (text excluded)."""
    return [{k: v for k, v in asdict(s).items() if k != "text"} for s in sources]


def resolve_citations(store: Store, sources: list[dict[str, Any]], owner_id: str) -> dict[int, Citation]:
    """Each stored source by number, linked to the owner's document (unlinked if it is gone)."""
    documents: dict[str, Document | None] = {}
    out: dict[int, Citation] = {}
    for source in sources:
        document_id = str(source.get("document_id", ""))
        if document_id not in documents:
            found = store.documents.get(document_id) if document_id else None
            documents[document_id] = found if found is not None and found.owner_id == owner_id else None
        document = documents[document_id]
        page = int(source.get("page") or 0)
        number = int(source.get("number") or 0)
        name = document.display_name if document else str(source.get("document_name", ""))
        out[number] = Citation(number, document_id, name, page, source_url(document, page) if document else "")
    return out


def citation_links(citations: dict[int, Citation], template: str = PAGE_LABEL) -> dict[int, tuple[str, str]]:
    """The (url, title) pairs render_markdown turns "[n]" into."""
    return {n: (c.url, c.label_with(template)) for n, c in citations.items()}
