"""Durable jobs: the job record is the source of truth, the broker is a doorbell."""

from .errors import PermanentError, TransientError
from .service import submit_job
from .types import JOB_TYPES, queue_for

__all__ = ["JOB_TYPES", "PermanentError", "TransientError", "queue_for", "submit_job"]
