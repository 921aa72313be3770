"""Every message a student may see about an upload or an ingest, in one place for translation.

Plain English constants; the web layer passes them through gettext when it shows them.
"""

from __future__ import annotations

# Rejected at upload (nothing is stored).
EMPTY_FILE = "The file is empty."
TOO_LARGE = "The file is larger than the limit of {limit} MB."
TOO_LARGE_NAMED = "The file '{name}' is larger than the limit of {limit} MB."
REQUEST_TOO_LARGE = "The upload is larger than the server accepts ({limit} MB in all). Upload fewer or smaller files."
DUPLICATE = "This file is already in the course, as '{name}'. It was not added again."
UNSUPPORTED_TYPE = (
    "This type of file is not supported. Upload PDF, Word (DOCX), PowerPoint (PPTX), HTML, "
    "text or Markdown files, or photos (PNG, JPEG, WEBP)."
)
EXTENSION_MISMATCH = (
    "The file is called '{name}' but its content is not a supported document. "
    "Upload PDF, Word (DOCX), PowerPoint (PPTX), HTML, text or Markdown files, or photos."
)
BAD_FILE_NAME = "The file name is not allowed: it contains path separators or control characters."
NO_FILE_NAME = "The file has no name."
NAME_TOO_LONG = "The file name is too long (at most {limit} characters)."
NO_FILES = "Choose at least one file to upload."
TOO_MANY_FILES = "Upload at most {limit} files at a time."
EMPTY_TEXT = "The pasted text is empty."
TEXT_TOO_LONG = "The pasted text is too long (at most {limit} characters)."
TITLE_REQUIRED = "Give the pasted text a title."

# Failed ingests (the document shows the reason).
CORRUPT_PDF = "The PDF file is damaged and cannot be read."
PASSWORD_PDF = "The PDF file is protected by a password. Remove the password and upload it again."
CORRUPT_OFFICE = "The {kind} file is damaged and cannot be read."
ZIP_BOMB = "The file unpacks to far more data than a document should; it was not processed."
TOO_MANY_PAGES = "The document has {pages} pages; the limit is {limit}."
NO_TEXT = "No text was found in this file."
IMAGE_UNREADABLE = "The image cannot be read."
IMAGE_TOO_LARGE = (
    "The image is too large to read (at most {megapixels} megapixels). Make it smaller and upload it again."
)
TOO_COMPLEX = (
    "This file is too complex to read within the server's limits, so it was not processed. "
    "Try saving it again in a simpler form or splitting it."
)
OCR_MISSING = "OCR is not installed on this server"
TEXT_UNDECODABLE = "The text file's encoding could not be recognised."
FILE_MISSING = "The uploaded file is missing on the server. Delete the document and upload it again."
INTERNAL = "The file could not be processed."
STOPPED = "Processing of this file stopped before it finished. Process it again."

# Stages of an ingest job (shown next to its progress).
STAGE_READING = "Reading the file"
STAGE_EXTRACTING = "Extracting the text"
STAGE_NORMALISING = "Tidying the text"
STAGE_CHUNKING = "Splitting into passages"
STAGE_INDEXING = "Indexing"
STAGE_READY = "Ready"
NOT_FAILED = "Only a document that failed can be processed again."
