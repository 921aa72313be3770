"""Configuration: YAML file -> STUDYBUDDY_<SECTION>__<KEY> env overrides -> secrets -> frozen dataclasses.

Every setting is a field of one of the section dataclasses below; its default is the
field default. Validation is strict: unknown keys are errors (with a did-you-mean),
booleans are YAML ``true``/``false`` only, numbers are never guessed from strings in YAML.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from .config_checks import shaped_value_problems

QUEUE_NAMES: tuple[str, ...] = (
    "file_processing",
    "summarize",
    "flashcards",
    "assess",
    "homework",
    "avner_chat",
)

ENV_PREFIX = "STUDYBUDDY_"
DEFAULT_CONFIG_PATH = "/etc/studybuddy/config.yaml"
# systemd's credential store, searched in this order by LoadCredential=ID:studybuddy.ID.
CREDSTORE_DIRS: tuple[str, ...] = ("/etc/credstore", "/run/credstore", "/usr/lib/credstore")
CREDSTORE_PREFIX = "studybuddy."
CREDSTORE_ENV = "STUDYBUDDY_CREDSTORE_PATH"


def secret(credential: str, default: str = "") -> Any:
    """A secret setting: also read from $CREDENTIALS_DIRECTORY/<credential> or `<key>_file`."""
    return field(default=default, metadata={"secret": True, "credential": credential}, repr=False)


def choice(default: str, *options: str) -> Any:
    return field(default=default, metadata={"choices": options})


@dataclass(frozen=True)
class AppConfig:
    state_dir: str = "./studybuddy-data"
    timezone: str = "Asia/Jerusalem"
    base_url: str = ""
    default_language: str = choice("he", "he", "en")


@dataclass(frozen=True)
class StorageConfig:
    url: str = ""  # empty: sqlite:///<state_dir>/studybuddy.db
    busy_timeout_ms: int = 5000


@dataclass(frozen=True)
class BrokerConfig:
    url: str = "memory://"
    queue_prefix: str = ""
    connect_timeout: float = 3.0
    publish_confirm_timeout: float = 5.0


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = 8
    secret_key: str = secret("secret_key")
    secure_cookies: bool = False
    max_upload_mb: int = 25
    session_days: int = 14
    remember_days: int = 30
    max_request_kb: int = 1024
    trusted_proxy: str = ""
    min_free_mb: int = 100


@dataclass(frozen=True)
class WorkerConfig:
    queues: list[str] = field(default_factory=lambda: list(QUEUE_NAMES))
    concurrency: int = 1
    lease_seconds: float = 30.0
    lease_renew_seconds: float = 10.0
    job_timeout_seconds: int = 600
    ingest_timeout_seconds: int = 1800
    max_attempts: int = 4
    retry_backoff_seconds: float = 5.0
    reaper_interval_seconds: float = 5.0
    dispatch_grace_seconds: float = 30.0
    amqp_heartbeat_seconds: float = 10.0


MIN_PARSE_MEMORY_MB = 256


@dataclass(frozen=True)
class IngestConfig:
    max_pages: int = 500
    max_uncompressed_mb: int = 200
    max_compression_ratio: int = 100
    ocr_languages: str = "heb+eng"
    chunk_words: int = 220
    chunk_overlap_words: int = 40
    tesseract_cmd: str = "tesseract"
    ocr_timeout_seconds: int = 120
    max_files_per_upload: int = 20
    max_paste_chars: int = 500000
    starter_tools: str = choice("offer", "offer", "make", "off")
    parse_timeout_seconds: int = 600
    parse_cpu_seconds: int = 240
    parse_memory_mb: int = 2048
    max_image_pixels: int = 50_000_000


@dataclass(frozen=True)
class AIConfig:
    openai_api_key: str = secret("openai_api_key")
    openai_model: str = "gpt-4o-mini"
    openai_base_url: str = ""
    gemini_api_key: str = secret("gemini_api_key")
    gemini_model: str = "gemini-2.5-flash"
    gemini_base_url: str = ""
    timeout_seconds: float = 60.0
    max_retries: int = 2
    breaker_failures: int = 3
    breaker_cooldown_seconds: float = 60.0
    openai_json_mode: str = choice("schema", "schema", "object")
    retry_backoff_seconds: float = 1.0
    retry_backoff_max_seconds: float = 20.0
    retry_budget_seconds: float = 90.0
    summary: list[str] = field(default_factory=lambda: ["gemini", "openai", "local"])
    homework: list[str] = field(default_factory=lambda: ["gemini", "openai", "local"])
    flashcards: list[str] = field(default_factory=lambda: ["openai", "gemini", "local"])
    quiz: list[str] = field(default_factory=lambda: ["openai", "gemini", "local"])
    glossary: list[str] = field(default_factory=lambda: ["openai", "gemini", "local"])
    chat: list[str] = field(default_factory=lambda: ["openai", "gemini", "local"])
    embeddings: str = choice("off", "off", "openai", "gemini")
    openai_embedding_model: str = "text-embedding-3-small"
    gemini_embedding_model: str = "gemini-embedding-001"
    embedding_batch: int = 96
    embedding_min_similarity: float = 0.35
    translate_queries: bool = True


@dataclass(frozen=True)
class QuotaConfig:
    daily_ai_requests: int = 200
    max_question_chars: int = 4000


@dataclass(frozen=True)
class MonitorConfig:
    interval_seconds: int = 300
    strikes: int = 3
    cooldown_seconds: int = 600
    web_url: str = "http://127.0.0.1:8080"
    token: str = secret("monitor_token")
    account_email: str = "monitor@studybuddy.invalid"
    account_password: str = secret("monitor_password")
    queue_depth_warn: int = 100
    disk_free_warn_mb: int = 1024
    memory_warn_mb: int = 1024
    ai_probe_interval_seconds: int = 3600
    canary_timeout_seconds: float = 60.0
    units: list[str] = field(
        default_factory=lambda: [
            "studybuddy-web.service",
            "studybuddy-worker.service",
            "studybuddy-monitor.service",
        ]
    )
    daily_report_time: str = "08:00"
    start_limit_interval_seconds: int = 1800
    start_limit_burst: int = 5
    systemctl: str = "systemctl"
    command_timeout_seconds: float = 30.0
    upload_timeout_seconds: float = 120.0


@dataclass(frozen=True)
class MailConfig:
    enabled: bool = False
    host: str = "localhost"
    port: int = 25
    security: str = choice("starttls", "none", "starttls", "tls")
    username: str = ""
    password: str = secret("smtp_password")
    sender: str = "studybuddy@localhost"
    admin_to: list[str] = field(default_factory=list)
    timeout_seconds: float = 20.0
    max_per_hour: int = 20
    repeat_minutes: int = 60
    ca_file: str = ""


@dataclass(frozen=True)
class AccountsConfig:
    require_verification_for_ai: bool = False
    login_max_failures: int = 5
    login_max_failures_per_address: int = 30
    login_window_seconds: int = 900
    login_lock_seconds: int = 60
    login_lock_max_seconds: int = 900
    verify_link_hours: int = 48
    reset_link_minutes: int = 60


@dataclass(frozen=True)
class LoggingConfig:
    level: str = choice("info", "debug", "info", "warning", "error")


@dataclass(frozen=True)
class BackupConfig:
    dir: str = ""  # empty: <state_dir>/backups
    keep_daily: int = 7
    keep_weekly: int = 4
    max_age_hours: int = 26
    disk_free_warn_mb: int = 1024


@dataclass(frozen=True)
class MetricsConfig:
    host: str = "127.0.0.1"
    web_port: int = 9480
    worker_port: int = 9481
    monitor_port: int = 9482


@dataclass(frozen=True)
class Config:
    app: AppConfig = field(default_factory=AppConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    broker: BrokerConfig = field(default_factory=BrokerConfig)
    web: WebConfig = field(default_factory=WebConfig)
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    ai: AIConfig = field(default_factory=AIConfig)
    quota: QuotaConfig = field(default_factory=QuotaConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    mail: MailConfig = field(default_factory=MailConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    backup: BackupConfig = field(default_factory=BackupConfig)
    accounts: AccountsConfig = field(default_factory=AccountsConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)

    @property
    def state_path(self) -> Path:
        return Path(self.app.state_dir).expanduser()

    @property
    def storage_url(self) -> str:
        if self.storage.url:
            return self.storage.url
        return f"sqlite:///{(self.state_path / 'studybuddy.db').resolve()}"

    @property
    def backup_path(self) -> Path:
        return Path(self.backup.dir).expanduser() if self.backup.dir else self.state_path / "backups"

    def replace(self, **sections: Mapping[str, Any]) -> "Config":
        """A copy with some settings changed: ``cfg.replace(web={"port": 0})``."""
        changed = {}
        for name, values in sections.items():
            changed[name] = dataclasses.replace(getattr(self, name), **values)
        return dataclasses.replace(self, **changed)


class ConfigError(Exception):
    """Raised with every problem found; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _section_types() -> dict[str, type]:
    hints = typing.get_type_hints(Config)
    return {f.name: hints[f.name] for f in dataclasses.fields(Config)}


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose only booleans are `true` and `false` (YAML 1.1's yes/no/on/off stay strings)."""


_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf")
)


def _load_yaml_with_lines(text: str, source: str) -> tuple[Any, dict[str, int]]:
    lines: dict[str, int] = {}
    node = yaml.compose(text, Loader=_LineLoader)
    if node is None:
        return {}, lines
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            section = str(key_node.value)
            lines[section] = key_node.start_mark.line + 1
            if isinstance(value_node, yaml.MappingNode):
                for k2, v2 in value_node.value:
                    lines[f"{section}.{k2.value}"] = k2.start_mark.line + 1
                    if isinstance(v2, yaml.SequenceNode):
                        for i, item in enumerate(v2.value):
                            lines[f"{section}.{k2.value}[{i}]"] = item.start_mark.line + 1
    return yaml.load(text, Loader=_LineLoader), lines  # noqa: S506 - SafeLoader subclass


def _did_you_mean(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is list:
        return "a list of strings"
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}.get(
        tp, str(tp)
    )


def _check_value(tp: Any, value: Any) -> tuple[bool, Any]:
    """Strictly check a YAML value against a field type; returns (ok, value)."""
    if tp is bool:
        return isinstance(value, bool), value
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if tp is str:
        return isinstance(value, str), value
    if typing.get_origin(tp) is list:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return ok, list(value) if ok else value
    return False, value


def _parse_env_value(tp: Any, raw: str) -> tuple[bool, Any]:
    """Parse an environment override by the field's declared type (never by guessing)."""
    if tp is bool:
        if raw in ("true", "false"):
            return True, raw == "true"
        return False, raw
    if tp is int:
        try:
            return True, int(raw)
        except ValueError:
            return False, raw
    if tp is float:
        try:
            return True, float(raw)
        except ValueError:
            return False, raw
    if tp is str:
        return True, raw
    if typing.get_origin(tp) is list:
        return True, [item.strip() for item in raw.split(",") if item.strip()]
    return False, raw


def _field_types(section_type: type) -> dict[str, Any]:
    hints = typing.get_type_hints(section_type)
    return {f.name: hints[f.name] for f in dataclasses.fields(section_type)}


def _secret_fields(section_type: type) -> dict[str, str]:
    return {
        f.name: f.metadata["credential"]
        for f in dataclasses.fields(section_type)
        if f.metadata.get("secret")
    }


def is_secret(section: str, key: str) -> bool:
    section_type = _section_types().get(section)
    return bool(section_type and key in _secret_fields(section_type))


def load_config(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    text: str | None = None,
    credstore: typing.Sequence[str | os.PathLike[str]] = (),
) -> Config:
    """Load, override and validate. Raises ConfigError listing every problem.

    Secrets come from $CREDENTIALS_DIRECTORY (inside a unit); outside one, from the first of
    the `credstore` directories holding `studybuddy.<credential>` that we may read, as the
    units' LoadCredential= would."""
    env = os.environ if env is None else env
    source = str(path) if path else ("<config>" if text is not None else "<defaults>")
    if text is None and path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError([f"{source}: cannot read: {exc.strerror or exc}"]) from None
    raw, lines = _parse_document(text, source)
    loading = _Loading(source, lines)
    loading.take_file(raw)
    loading.take_environment(env)
    loading.take_secrets(env.get("CREDENTIALS_DIRECTORY"), credstore)
    return loading.build()


def _parse_document(text: str | None, source: str) -> tuple[dict[str, Any], dict[str, int]]:
    """The YAML mapping of sections and the line of each key (nothing given: empty)."""
    raw: Any = {}
    lines: dict[str, int] = {}
    if text is not None:
        try:
            raw, lines = _load_yaml_with_lines(text, source)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f":{mark.line + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError([f"{source}{at}: not valid YAML: {problem}"]) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError([f"{source}: the top level must be a mapping of sections"])
    return raw, lines


class _Loading:
    """The settings gathered so far, layer by layer, and every problem found on the way."""

    def __init__(self, source: str, lines: dict[str, int]):
        self.source = source
        self.lines = lines
        self.problems: list[str] = []
        self.section_types = _section_types()
        self.values: dict[str, dict[str, Any]] = {name: {} for name in self.section_types}
        self.file_refs: dict[tuple[str, str], str] = {}

    def where(self, key: str) -> str:
        line = self.lines.get(key) or self.lines.get(key.split("[", 1)[0])
        return f"{self.source}:{line}" if line else self.source

    def _unknown_section(self, at: str, section: str) -> None:
        self.problems.append(f"{at}: unknown section '{section}'" + _did_you_mean(section, list(self.section_types)))

    def take_file(self, raw: dict[str, Any]) -> None:
        for section, body in raw.items():
            section = str(section)
            if section not in self.section_types:
                self._unknown_section(self.where(section), section)
            elif body is not None and not isinstance(body, dict):
                self.problems.append(f"{self.where(section)}: section '{section}' must be a mapping")
            elif body is not None:
                for key, value in body.items():
                    self._take_file_value(section, str(key), value)

    def _take_file_value(self, section: str, key: str, value: Any) -> None:
        types_ = _field_types(self.section_types[section])
        secrets = _secret_fields(self.section_types[section])
        dotted = f"{section}.{key}"
        if key.endswith("_file") and key[: -len("_file")] in secrets:
            if not isinstance(value, str):
                self.problems.append(f"{self.where(dotted)}: {dotted} must be a string (a file path)")
            else:
                self.file_refs[(section, key[: -len("_file")])] = value
            return
        if key not in types_:
            allowed = list(types_) + [f"{s}_file" for s in secrets]
            self.problems.append(f"{self.where(dotted)}: unknown setting '{dotted}'" + _did_you_mean(key, allowed))
            return
        ok, parsed = _check_value(types_[key], value)
        if not ok:
            shown = "<hidden>" if key in secrets else repr(value)
            self.problems.append(f"{self.where(dotted)}: {dotted} must be {_type_name(types_[key])}, got {shown}")
            return
        self.values[section][key] = parsed

    def take_environment(self, env: Mapping[str, str]) -> None:
        """Overrides: STUDYBUDDY_<SECTION>__<KEY>."""
        for name, raw_value in env.items():
            if not name.startswith(ENV_PREFIX) or "__" not in name:
                continue
            section, _, key = name[len(ENV_PREFIX):].lower().partition("__")
            if section not in self.section_types:
                # Variables such as STUDYBUDDY_TEST_* belong to the test suite, not to us.
                if not section.startswith("test"):
                    self._unknown_section(f"environment {name}", section)
                continue
            self._take_env_value(name, section, key, raw_value)

    def _take_env_value(self, name: str, section: str, key: str, raw_value: str) -> None:
        types_ = _field_types(self.section_types[section])
        secrets = _secret_fields(self.section_types[section])
        if key.endswith("_file") and key[: -len("_file")] in secrets:
            self.file_refs[(section, key[: -len("_file")])] = raw_value
            return
        if key not in types_:
            self.problems.append(f"environment {name}: unknown setting '{section}.{key}'"
                                 + _did_you_mean(key, list(types_)))
            return
        ok, parsed = _parse_env_value(types_[key], raw_value)
        if not ok:
            shown = "<hidden>" if key in secrets else repr(raw_value)
            self.problems.append(f"environment {name}: must be {_type_name(types_[key])}, got {shown}")
            return
        self.values[section][key] = parsed

    def take_secrets(self, cred_dir: str | None, credstore: typing.Sequence[str | os.PathLike[str]]) -> None:
        """Systemd credentials (or the credential store), then *_file settings."""
        for section, section_type in self.section_types.items():
            for key, credential in _secret_fields(section_type).items():
                found = _read_credential(credential, cred_dir, credstore)
                if found is not None:
                    self.values[section][key] = found
                ref = self.file_refs.get((section, key))
                if ref:
                    try:
                        self.values[section][key] = Path(ref).read_text(encoding="utf-8").strip()
                    except OSError as exc:
                        self.problems.append(f"{self.where(f'{section}.{key}_file')}: {section}.{key}_file: "
                                             f"cannot read {ref}: {exc.strerror or exc}")

    def build(self) -> Config:
        built: dict[str, Any] = {}
        for section, section_type in self.section_types.items():
            try:
                built[section] = section_type(**self.values[section])
            except TypeError as exc:  # pragma: no cover - guarded by the checks above
                self.problems.append(f"{self.source}: section {section}: {exc}")
        if len(built) == len(self.section_types):
            # Settings that failed their type check kept their defaults, so the cross-field
            # checks can still run and every problem is listed at once.
            cfg = Config(**built)
            self.problems.extend(_validate(cfg, self.where))
            if not self.problems:
                return cfg
        raise ConfigError(self.problems)


def credstore_dirs(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The credential store directories: $STUDYBUDDY_CREDSTORE_PATH (colon-separated) or systemd's."""
    env = os.environ if env is None else env
    given = env.get(CREDSTORE_ENV)
    if given is not None:
        return tuple(d for d in given.split(":") if d)
    return CREDSTORE_DIRS


def _read_credential(credential: str, cred_dir: str | None,
                     credstore: typing.Sequence[str | os.PathLike[str]]) -> str | None:
    """A credential's value, or None when it is not there or not ours to read."""
    if cred_dir:
        candidates = [Path(cred_dir) / credential]
    else:
        candidates = [Path(d) / f"{CREDSTORE_PREFIX}{credential}" for d in credstore]
    for path in candidates:
        try:
            return path.read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError):
            continue
        except PermissionError:
            # The store is root's (0700): another account simply does without it.
            return None
    return None


def _validate(cfg: Config, where: typing.Callable[[str], str]) -> list[str]:
    """Cross-field and range checks."""
    problems: list[str] = []
    for section, section_type in _section_types().items():
        obj = getattr(cfg, section)
        for f in dataclasses.fields(section_type):
            choices = f.metadata.get("choices")
            if choices and getattr(obj, f.name) not in choices:
                problems.append(
                    f"{where(f'{section}.{f.name}')}: {section}.{f.name} must be one of "
                    f"{', '.join(choices)}, got {getattr(obj, f.name)!r}"
                )

    def positive(section: str, key: str) -> None:
        if getattr(getattr(cfg, section), key) <= 0:
            problems.append(f"{where(f'{section}.{key}')}: {section}.{key} must be above 0")

    for section, key in [
        ("web", "threads"), ("web", "max_upload_mb"), ("web", "session_days"),
        ("worker", "concurrency"), ("worker", "lease_seconds"), ("worker", "max_attempts"),
        ("worker", "job_timeout_seconds"), ("worker", "reaper_interval_seconds"),
        ("worker", "lease_renew_seconds"), ("worker", "ingest_timeout_seconds"), ("worker", "dispatch_grace_seconds"),
        ("storage", "busy_timeout_ms"), ("broker", "connect_timeout"),
        ("ingest", "max_pages"), ("ingest", "chunk_words"), ("ai", "timeout_seconds"),
        ("ingest", "max_files_per_upload"), ("ingest", "ocr_timeout_seconds"), ("ingest", "max_paste_chars"),
        ("monitor", "interval_seconds"), ("monitor", "strikes"), ("mail", "timeout_seconds"),
        ("mail", "max_per_hour"), ("mail", "repeat_minutes"),
        ("quota", "max_question_chars"),
        ("backup", "keep_daily"), ("backup", "max_age_hours"),
        ("web", "remember_days"), ("web", "max_request_kb"), ("accounts", "login_max_failures"),
        ("accounts", "login_max_failures_per_address"), ("accounts", "login_window_seconds"),
        ("accounts", "login_lock_seconds"), ("accounts", "login_lock_max_seconds"),
        ("accounts", "verify_link_hours"), ("accounts", "reset_link_minutes"),
    ]:
        positive(section, key)
    for key in ("parse_timeout_seconds", "parse_cpu_seconds", "max_image_pixels"):
        positive("ingest", key)
    if cfg.ingest.parse_memory_mb < MIN_PARSE_MEMORY_MB:
        problems.append(f"{where('ingest.parse_memory_mb')}: ingest.parse_memory_mb must be at least "
                        f"{MIN_PARSE_MEMORY_MB} (the parser needs room to start)")
    if cfg.worker.lease_renew_seconds >= cfg.worker.lease_seconds:
        problems.append(f"{where('worker.lease_renew_seconds')}: worker.lease_renew_seconds must be below "
                        "worker.lease_seconds (a lease is renewed before it runs out)")
    if cfg.worker.amqp_heartbeat_seconds < 0:
        problems.append(f"{where('worker.amqp_heartbeat_seconds')}: worker.amqp_heartbeat_seconds must be "
                        "0 (off) or above")
    if not 0 <= cfg.web.port <= 65535:
        problems.append(f"{where('web.port')}: web.port must be between 0 and 65535")
    for q in cfg.worker.queues:
        if q not in QUEUE_NAMES:
            problems.append(
                f"{where('worker.queues')}: worker.queues: unknown queue '{q}'"
                + _did_you_mean(q, list(QUEUE_NAMES))
            )
    url = cfg.storage.url
    if url and not (url.startswith("sqlite:///") or url.startswith(("mongodb://", "mongodb+srv://"))):
        problems.append(
            f"{where('storage.url')}: storage.url must start with sqlite:/// or mongodb://"
        )
    if not cfg.broker.url.startswith(("memory://", "amqp://", "amqps://", "pyamqp://")):
        problems.append(f"{where('broker.url')}: broker.url must be memory:// or amqp://...")
    try:
        import zoneinfo

        zoneinfo.ZoneInfo(cfg.app.timezone)
    except Exception:
        problems.append(f"{where('app.timezone')}: app.timezone: unknown time zone {cfg.app.timezone!r}")
    known_providers = {"openai", "gemini", "local"}
    for tool in ("summary", "homework", "flashcards", "quiz", "glossary", "chat"):
        for provider in getattr(cfg.ai, tool):
            if provider not in known_providers:
                problems.append(
                    f"{where(f'ai.{tool}')}: ai.{tool}: unknown provider '{provider}'"
                    + _did_you_mean(provider, sorted(known_providers))
                )
    if cfg.ai.embedding_batch < 64:
        problems.append(f"{where('ai.embedding_batch')}: ai.embedding_batch must be at least 64")
    if not 0 <= cfg.ai.embedding_min_similarity < 1:
        problems.append(f"{where('ai.embedding_min_similarity')}: ai.embedding_min_similarity must be from 0 to 1")
    hh, _, mm = cfg.monitor.daily_report_time.partition(":")
    if not (hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60 and len(mm) == 2):
        problems.append(
            f"{where('monitor.daily_report_time')}: monitor.daily_report_time must be HH:MM "
            f"(24-hour clock, e.g. 08:00), got {cfg.monitor.daily_report_time!r}"
        )
    if cfg.backup.keep_weekly < 0:
        problems.append(f"{where('backup.keep_weekly')}: backup.keep_weekly must be 0 or more")
    problems.extend(shaped_value_problems(cfg, where))
    if cfg.mail.enabled and not cfg.mail.admin_to:
        problems.append(f"{where('mail.admin_to')}: mail.admin_to is empty but mail is enabled")
    return problems


def describe_settings() -> list[tuple[str, Any, bool]]:
    """Every setting as (dotted name, default, secret) in declaration order."""
    out: list[tuple[str, Any, bool]] = []
    defaults = Config()
    for section in _section_types():
        obj = getattr(defaults, section)
        for f in dataclasses.fields(obj):
            out.append((f"{section}.{f.name}", getattr(obj, f.name), bool(f.metadata.get("secret"))))
    return out

