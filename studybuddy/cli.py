"""The `studybuddy` command."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import click

from .cli_failures import DEBUG_KEY, CliFailure, FailureHandlingGroup, command_line
from .config import DEFAULT_CONFIG_PATH, Config, ConfigError, credstore_dirs, load_config
from .health import installed_version
from .logging import setup_logging
from .metrics import serve_metrics
from .service_account import run_as_state_owner

log = logging.getLogger("studybuddy")


def _config_path(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    env = os.environ.get("STUDYBUDDY_CONFIG")
    if env:
        return env
    try:
        Path(DEFAULT_CONFIG_PATH).stat()
    except FileNotFoundError:
        return None
    except OSError:
        # There but hidden from us (/etc/studybuddy is 0750): loading it says so, rather than
        # running on the built-in defaults (and creating ./studybuddy-data).
        pass
    return DEFAULT_CONFIG_PATH


def ensure_secret_key(cfg: Config) -> Config:
    """Without a configured key, use (or create) <state_dir>/secret_key, readable by us only."""
    if cfg.web.secret_key:
        return cfg
    path = cfg.state_path / "secret_key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
    return cfg.replace(web={"secret_key": path.read_text().strip()})


def _unreadable(path: str) -> bool:
    """There (or hidden from us by its directory), but not readable by this account."""
    try:
        os.stat(path)
    except PermissionError:
        return True
    except OSError:
        return False
    return not os.access(path, os.R_OK)


def load_cli_config(path: str | None) -> Config:
    """The configuration as the services see it: outside a unit, secrets from the credential store."""
    if path and _unreadable(path):
        raise CliFailure(f"{path} is not readable by this account; run it as root or as a member of "
                         f"the file's group, e.g. sudo {command_line(click.get_current_context())}")
    outside_unit = not os.environ.get("CREDENTIALS_DIRECTORY")
    return load_config(path, credstore=credstore_dirs() if outside_unit else ())


class Context:
    def __init__(self, config_path: str | None):
        self.config_path = config_path
        self._cfg: Config | None = None

    def config(self) -> Config:
        """The validated configuration (nothing is created on disk)."""
        if self._cfg is None:
            try:
                cfg = load_cli_config(self.config_path)
            except ConfigError as exc:
                if len(exc.problems) == 1:
                    click.echo(f"error: {exc.problems[0]}", err=True)
                else:
                    click.echo("StudyBuddy cannot start, the configuration has problems:", err=True)
                    for problem in exc.problems:
                        click.echo(f"  {problem}", err=True)
                raise SystemExit(2) from None
            setup_logging(cfg.logging.level)
            self._cfg = cfg
        return self._cfg

    def service_config(self, *, read_only: bool = False, prefer_account: str = "") -> Config:
        """The configuration, with this process now running as the account that owns the state.

        Commands that touch the store call this (root becomes the service account; another
        account that may not write there is refused with the command to run). With `read_only`
        nothing may be created: a store that does not exist yet is a failure, not a new one."""
        cfg = self.config()
        database = _sqlite_path(cfg)
        command = command_line(click.get_current_context())
        run_as_state_owner(cfg.state_path, command, (database,) if database else (), prefer=prefer_account)
        if read_only and database is not None and not database.exists():
            raise CliFailure(f"there is no StudyBuddy database at {database} yet: start the services first "
                             "(systemctl start studybuddy.target), or check app.state_dir")
        return cfg


def _sqlite_path(cfg: Config) -> Path | None:
    url = cfg.storage_url
    return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None


@click.group(cls=FailureHandlingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-c", "--config", "config_path", metavar="FILE",
              help=f"Configuration file (default: $STUDYBUDDY_CONFIG, else {DEFAULT_CONFIG_PATH} if present, "
                   "else built-in defaults).")
@click.option("--debug", is_flag=True, help="When a command fails, show the full traceback, not one line.")
@click.version_option(package_name="studybuddy")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, debug: bool) -> None:
    """StudyBuddy: a self-hosted AI study companion.

    Run as root, a command that touches the data switches to the account that owns it
    (studybuddy) by itself, after reading the secrets in /etc/credstore as the services would.
    """
    ctx.meta[DEBUG_KEY] = debug
    ctx.obj = Context(_config_path(config_path))


@main.command()
@click.option("--host", help="Address to listen on (default from web.host).")
@click.option("--port", type=int, help="Port to listen on (default from web.port).")
@click.pass_obj
def run(obj: Context, host: str | None, port: int | None) -> None:
    """Run everything in one process: web, worker and reaper (embedded defaults need no servers)."""
    from .services import Services
    from .web import create_app
    from .web.serve import serve_config
    from .worker.consumer import Worker

    cfg = ensure_secret_key(obj.service_config())
    cfg = cfg.replace(web={"host": host or cfg.web.host, "port": cfg.web.port if port is None else port})
    services = Services(cfg)
    worker = Worker(services)
    worker.start()
    app = create_app(cfg, services)
    # One process: the web's listener also carries the worker's figures.
    serve_metrics(cfg, "web", installed_version())

    def announce(bound_port: int) -> None:
        click.echo(f"StudyBuddy is running at http://{cfg.web.host}:{bound_port}/  (Ctrl-C stops it)")
        click.echo(f"  data: {cfg.state_path.resolve()}  store: {cfg.storage_url.split(':', 1)[0]}  "
                   f"broker: {cfg.broker.url.split(':', 1)[0]}")

    try:
        serve_config(app, cfg, on_bound=announce)
    finally:
        click.echo("stopping…")
        worker.stop(timeout=30)
        services.close()


@main.command()
@click.pass_obj
def web(obj: Context) -> None:
    """Run the web server (waitress)."""
    from .web import create_app
    from .web.serve import serve_config

    cfg = ensure_secret_key(obj.service_config())
    app = create_app(cfg)
    serve_metrics(cfg, "web", installed_version())
    serve_config(app, cfg)


@main.command()
@click.option("--queues", help="Comma-separated subset of queues to consume (default: worker.queues).")
@click.option("--concurrency", type=click.IntRange(1, 64), help="Consumer threads (default: worker.concurrency).")
@click.option("--no-reaper", is_flag=True, help="Do not run the reaper in this worker.")
@click.pass_obj
def worker(obj: Context, queues: str | None, concurrency: int | None, no_reaper: bool) -> None:
    """Run the worker: consume the job queues until SIGTERM."""
    from .config import QUEUE_NAMES
    from .services import Services
    from .worker.consumer import Worker

    cfg = obj.service_config()
    names = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
    for name in names or []:
        if name not in QUEUE_NAMES:
            raise click.BadParameter(f"unknown queue {name!r}; known: {', '.join(QUEUE_NAMES)}",
                                     param_hint="--queues")
    services = Services(cfg)
    w = Worker(services, names, concurrency, run_reaper=not no_reaper)
    serve_metrics(cfg, "worker", installed_version())
    w.run_forever()
    services.close()
    log.info("worker stopped")


@main.command("check-config")
@click.argument("file", required=False, type=click.Path(dir_okay=False, readable=False))
def check_config(file: str | None) -> None:
    """Check a configuration file (and STUDYBUDDY_* overrides); list every problem, exit 2 if any."""
    path = file or _config_path(None)
    try:
        load_cli_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(problem)
        click.echo(f"{len(exc.problems)} problem(s) found")
        raise SystemExit(2) from None
    click.echo("config OK")


@main.command("create-admin")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The password (asked for when not given).")
@click.option("--name", default="", help="Display name.")
@click.pass_obj
def create_admin(obj: Context, email: str, password: str, name: str) -> None:
    """Create an administrator account, or make an existing account an administrator."""
    from .accounts import AccountError, create_user
    from .store import open_store

    store = open_store(obj.service_config())
    try:
        existing = store.users.get_by_email(email.strip())
        if existing:
            store.users.update(existing.id, is_admin=True)
            click.echo(f"{existing.email} is now an administrator")
            return
        user = create_user(store, email, password, name, is_admin=True)
        click.echo(f"administrator {user.email} created")
    except AccountError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    finally:
        store.close()


@main.command("embed-chunks")
@click.option("--course", "course_id", default=None, help="Only this course's chunks (default: every course).")
@click.pass_obj
def embed_chunks(obj: Context, course_id: str | None) -> None:
    """Compute the retrieval vectors of chunks that have none (documents ingested before
    ai.embeddings was turned on, or while the embedding API was down)."""
    from .ai.base import ProviderError
    from .ai.embeddings import configured_embedder
    from .ingest.vectors import backfill
    from .store import open_store

    cfg = obj.config()
    embedder = configured_embedder(cfg)
    if embedder is None:
        click.echo("error: embeddings are off (set ai.embeddings to openai or gemini, with its API key)", err=True)
        raise SystemExit(2)
    store = open_store(cfg)
    try:
        done = backfill(store, embedder, cfg.ai.embedding_batch, course_id,
                        report=lambda n: click.echo(f"{n} chunks embedded…"))
    except ProviderError as exc:
        click.echo(f"error: the embedding API failed: {exc}", err=True)
        raise SystemExit(1) from None
    finally:
        store.close()
    click.echo(f"done: {done} chunks embedded with {embedder.name}/{embedder.model}")


def _add_optional_commands() -> None:
    """Operations commands (status, probe, monitor) live in cli_ops."""
    import importlib

    try:
        cli_ops = importlib.import_module(f"{__package__}.cli_ops")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.cli_ops":
            raise
        return
    for command in cli_ops.COMMANDS:
        main.add_command(command)


_add_optional_commands()


def _add_backup_commands() -> None:
    """Backup, restore and migrate live in cli_backup."""
    from .cli_backup import COMMANDS as BACKUP_COMMANDS

    for command in BACKUP_COMMANDS:
        main.add_command(command)


_add_backup_commands()


def entry(argv: list[str] | None = None) -> Any:
    return main.main(args=argv, prog_name="studybuddy")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(entry())
