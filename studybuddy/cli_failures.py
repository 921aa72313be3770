"""How a command fails: one line that says what is wrong and how to fix it, exit status 1.

Permissions, missing files and unreachable services are the administrator's everyday
failures; a traceback helps nobody there. `studybuddy --debug COMMAND` shows it all the same.
"""

from __future__ import annotations

import errno
import shlex
import sqlite3
from typing import Any

import click

from .service_account import WrongAccount

ARGV_KEY = "studybuddy.argv"
DEBUG_KEY = "studybuddy.debug"
SECRET_OPTIONS = ("--password",)


class CliFailure(Exception):
    """A failure already phrased for the administrator: what is wrong, then the fix."""


def command_line(ctx: click.Context) -> str:
    """The command as typed (`studybuddy create-admin x`), without the value of a secret option
    (run without it, the command asks for it)."""
    args = list(ctx.find_root().meta.get(ARGV_KEY, []))
    shown: list[str] = []
    skip_next = False
    for arg in args:
        if skip_next:
            skip_next = False
        elif arg in SECRET_OPTIONS:
            skip_next = True
        elif not arg.startswith(tuple(f"{o}=" for o in SECRET_OPTIONS)):
            shown.append(arg)
    return shlex.join(["studybuddy", *shown])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def explain(exc: BaseException, command: str) -> str:
    """One line for an exception that escaped a command: what went wrong and what to do."""
    if isinstance(exc, (CliFailure, WrongAccount)):
        return str(exc)
    as_root = f"run it as root, which switches to the service account itself: sudo {command}"
    if isinstance(exc, PermissionError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"permission denied{where}; {as_root}"
    if isinstance(exc, FileNotFoundError):
        what = exc.filename or _first_line(exc)
        return f"{what} does not exist; check the path (and app.state_dir in the configuration)"
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return ("the address is already in use: another process listens there "
                "(`ss -ltnp` shows which); stop it or choose another port in the configuration")
    if isinstance(exc, sqlite3.OperationalError):
        message = _first_line(exc)
        if "readonly" in message or "unable to open" in message:
            return f"the SQLite database cannot be written ({message}); {as_root}"
        return f"the SQLite database failed: {message}"
    broker = _broker_problem(exc)
    if broker:
        return broker
    store = _store_problem(exc)
    if store:
        return store
    return f"{type(exc).__name__}: {_first_line(exc)} (run `studybuddy --debug …` for the details)"


def _broker_problem(exc: BaseException) -> str:
    from .jobs.broker import BrokerUnavailable

    if isinstance(exc, BrokerUnavailable):
        return ("the broker is unreachable: is RabbitMQ running (`systemctl status rabbitmq-server`), "
                "and is broker.url right?")
    return ""


def _store_problem(exc: BaseException) -> str:
    from pymongo.errors import PyMongoError

    from .store import StoreError

    if isinstance(exc, PyMongoError):
        return (f"MongoDB is unreachable or refused ({type(exc).__name__}): is it running, "
                "and is storage.url right?")
    if isinstance(exc, StoreError):
        return f"the store failed: {_first_line(exc)}"
    return ""


class FailureHandlingGroup(click.Group):
    """A click group whose commands fail with one explained line unless --debug is given."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[ARGV_KEY] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            if ctx.meta.get(DEBUG_KEY):
                raise
            click.echo(f"error: {explain(exc, command_line(ctx))}", err=True)
            ctx.exit(1)
