"""Run a real worker process with the test handlers: python -m tests.jobs.worker_proc CONFIG."""

from __future__ import annotations

import sys

from studybuddy.config import load_config
from studybuddy.logging import setup_logging
from studybuddy.services import Services
from studybuddy.worker.consumer import Worker
from studybuddy.worker.handlers import default_handlers

from .handlers import TEST_HANDLERS


def main() -> None:
    cfg = load_config(sys.argv[1], env={})
    setup_logging("info")
    services = Services(cfg)
    handlers = {**default_handlers(), **TEST_HANDLERS}
    Worker(services, handlers=handlers).run_forever()
    services.close()


if __name__ == "__main__":
    main()
