"""Errors a job handler raises to say how its failure should be treated."""


class JobError(Exception):
    pass


class PermanentError(JobError):
    """Bad input: the job fails at once and the student sees `user_message`."""

    def __init__(self, user_message: str, internal: str = ""):
        super().__init__(internal or user_message)
        self.user_message = user_message
        self.internal = internal or user_message


class TransientError(JobError):
    """Trouble that may pass (a provider timing out, a lock): the job is retried with backoff."""


class UnknownJobType(JobError):
    pass
