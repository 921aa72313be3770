#!/usr/bin/env python3
"""Write studybuddy(1) and studybuddy.yaml(5) from the code they document.

studybuddy(1) lists every command of the click group with its options; studybuddy.yaml(5)
lists every setting with its default and the comment config.example.yaml gives it. Run it
after adding a command or a setting (tests/e2e/test_packaging.py fails until you do):

    .venv/bin/python packaging/docs/make-manpages.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click

TOP = Path(__file__).resolve().parents[2]
if str(TOP) not in sys.path:
    sys.path.insert(0, str(TOP))

DATE = "2026-11-29"


def esc(text: str) -> str:
    """Escape text for roff: backslashes, and a leading dot or quote."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line[:1] in (".", "'") else line for line in text.split("\n"))


def header(name: str, section: int, title: str) -> list[str]:
    return [
        f'.TH "{name.upper()}" "{section}" "{DATE}" "StudyBuddy" "{title}"',
        ".SH NAME",
    ]


# -- studybuddy(1) ------------------------------------------------------------------------------

def option_lines(param: click.Parameter) -> list[str]:
    if isinstance(param, click.Argument):
        return []
    assert isinstance(param, click.Option)
    names = ", ".join(f"\\fB{esc(o)}\\fR" for o in param.opts)
    if not param.is_flag and param.metavar != "":
        metavar = param.metavar or str(param.name or "").upper()
        names += f" \\fI{esc(str(metavar))}\\fR"
    return [".TP", names, esc(param.help or "")]


def usage(name: str, command: click.Command) -> str:
    parts = [f"\\fBstudybuddy\\fR [\\fIOPTIONS\\fR] \\fB{esc(name)}\\fR"]
    if any(isinstance(p, click.Option) for p in command.params):
        parts.append("[\\fIOPTIONS\\fR]")
    for param in command.params:
        if isinstance(param, click.Argument):
            arg = f"\\fI{esc(param.name.upper())}\\fR"  # type: ignore[union-attr]
            parts.append(arg if param.required else f"[{arg}]")
    return " ".join(parts)


def studybuddy_1() -> str:
    from studybuddy.cli import main as cli_main

    ctx = click.Context(cli_main, info_name="studybuddy")
    names = sorted(cli_main.list_commands(ctx))
    out = header("studybuddy", 1, "StudyBuddy Manual")
    out += ["studybuddy \\- self\\-hosted AI study companion (web, worker, monitor and tools)",
            ".SH SYNOPSIS",
            "\\fBstudybuddy\\fR [\\fB\\-c\\fR \\fIFILE\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR...]",
            ".SH DESCRIPTION",
            "StudyBuddy lets students upload course material and get summaries, flashcards, quizzes,",
            "homework help, a glossary and a tutor chat whose answers cite the material.",
            "On a Debian host it runs as three systemd services, each started by one command below:",
            "\\fBstudybuddy\\-web.service\\fR (\\fBweb\\fR), \\fBstudybuddy\\-worker.service\\fR",
            "(\\fBworker\\fR) and \\fBstudybuddy\\-monitor.service\\fR (\\fBmonitor\\fR).",
            "The other commands are for the administrator.",
            ".PP",
            "Nothing the command line does may leave files in the state directory that the services",
            "cannot use. Run as root, a command that touches the data first reads the secrets in the",
            "credential store (as the units' \\fBLoadCredential=\\fR would), then switches to the",
            "account that owns the state directory (\\fBstudybuddy\\fR) by itself. Run as that account,",
            "it works as well, without the credential store:",
            ".PP",
            ".RS",
            ".nf",
            "sudo studybuddy create\\-admin admin@example.org",
            "sudo \\-u studybuddy studybuddy create\\-admin admin@example.org",
            ".fi",
            ".RE",
            ".PP",
            "Any other account is refused with the command to run instead. \\fBstatus\\fR, \\fBprobe\\fR,",
            "\\fBcheck\\-config\\fR and \\fB\\-\\-help\\fR create nothing. A command that fails because of",
            "permissions, a missing file or an unreachable service prints one line saying what to do",
            "(\\fB\\-\\-debug\\fR shows the traceback).",
            ".SH GLOBAL OPTIONS"]
    for param in cli_main.params:
        out += option_lines(param)
    out += [".TP", "\\fB\\-h\\fR, \\fB\\-\\-help\\fR", "Show the help of the program or of a command.",
            ".SH COMMANDS"]
    for name in names:
        command = cli_main.get_command(ctx, name)
        assert command is not None
        help_text = " ".join((command.help or "").split())
        out += [".SS " + esc(name), usage(name, command), ".PP", esc(help_text)]
        options = [line for p in command.params for line in option_lines(p)]
        if options:
            out += [".RS"] + options + [".RE"]
    out += [
        ".SH BACKUP, UPGRADE AND ROLLBACK",
        "\\fBstudybuddy\\-backup.timer\\fR runs \\fBstudybuddy backup \\-\\-prune\\fR every night; archives",
        "(mode 0600, with a manifest of versions, schema, counts and the SHA\\-256 of every member, and",
        "without secrets) are kept in \\fI/var/backups/studybuddy\\fR. \\fBstudybuddy backup \\-\\-verify\\fR",
        "\\fIARCHIVE\\fR checks one; \\fBstudybuddy restore\\fR \\fIARCHIVE\\fR restores it into the configured",
        "store (SQLite or MongoDB) with the services stopped.",
        ".PP",
        "An upgrade of the package stops the services, takes a backup labelled",
        "\\fBpre\\-upgrade\\-\\fR\\fIOLDVERSION\\fR, runs \\fBstudybuddy migrate\\fR once (one transaction: a failure",
        "leaves the data as it was and the services stopped, see \\fBjournalctl \\-t studybuddy\\-upgrade\\fR)",
        "and starts them again. To roll back, install the previous package and restore the",
        "pre\\-upgrade archive:",
        ".PP",
        ".RS",
        ".nf",
        "systemctl stop \\(aqstudybuddy*\\(aq",
        "apt install \\-\\-allow\\-downgrades ./studybuddy_OLD_amd64.deb",
        "systemctl stop \\(aqstudybuddy*\\(aq",
        "studybuddy restore /var/backups/studybuddy/studybuddy\\-...\\-pre\\-upgrade\\-OLD.tar.gz \\-\\-force",
        "systemctl start studybuddy.target studybuddy\\-backup.timer",
        ".fi",
        ".RE",
        ".SH FILES",
        ".TP", "\\fI/etc/studybuddy/config.yaml\\fR",
        "The configuration; see \\fBstudybuddy.yaml\\fR(5).",
        ".TP", "\\fI/etc/credstore/studybuddy.*\\fR",
        "Secrets handed to the services as systemd credentials (secret key, monitor token and",
        "password, API keys, SMTP password); readable by root and the studybuddy group only.",
        ".TP", "\\fI/usr/share/doc/studybuddy/grafana\\-dashboard.json\\fR",
        "A Grafana dashboard over the metrics the services export (see \\fBmetrics\\fR in",
        "\\fBstudybuddy.yaml\\fR(5)).",
        ".TP", "\\fI/var/lib/studybuddy\\fR",
        "The state directory: the SQLite database and uploaded files (removed by \\fBapt purge\\fR).",
        ".TP", "\\fI/var/backups/studybuddy\\fR",
        "Backup archives (kept by \\fBapt purge\\fR).",
        ".TP", "\\fI/opt/venvs/studybuddy\\fR",
        "The application and its Python dependencies, in their own virtual environment.",
        ".TP", "\\fI/usr/share/doc/studybuddy/operations.md.gz\\fR",
        "The operations guide: installation, mail, TLS, the monitor, alerts, upgrades, scaling out.",
        ".SH ENVIRONMENT",
        ".TP", "\\fBSTUDYBUDDY_CONFIG\\fR",
        "The configuration file when \\fB\\-\\-config\\fR is not given.",
        ".TP", "\\fBSTUDYBUDDY_\\fR\\fISECTION\\fR\\fB__\\fR\\fIKEY\\fR",
        "Overrides one setting, e.g. \\fBSTUDYBUDDY_WEB__PORT=9000\\fR.",
        ".TP", "\\fBCREDENTIALS_DIRECTORY\\fR",
        "Set by systemd; secrets are read from the files in it.",
        ".TP", "\\fBSTUDYBUDDY_CREDSTORE_PATH\\fR",
        "Outside a unit (no \\fBCREDENTIALS_DIRECTORY\\fR), the colon\\-separated directories searched",
        "for \\fIstudybuddy.NAME\\fR secrets; default \\fI/etc/credstore:/run/credstore:/usr/lib/credstore\\fR.",
        ".SH EXIT STATUS",
        "0 on success; 1 when a check or probe fails, or the command could not run (one line on",
        "standard error says why); 2 when the configuration has problems.",
        ".SH SEE ALSO",
        "\\fBstudybuddy.yaml\\fR(5), \\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1),",
        "\\fBsystemd.exec\\fR(5)",
    ]
    return "\n".join(out) + "\n"


# -- studybuddy.yaml(5) -------------------------------------------------------------------------

def example_comments(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """(section -> title, 'section.key' -> description) from config.example.yaml's comments."""
    titles: dict[str, str] = {}
    notes: dict[str, str] = {}
    pending: list[str] = []
    section = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("#").strip())
            continue
        match = re.match(r"^([a-z_]+):", line)
        if match:
            section = match.group(1)
            titles[section] = " ".join(pending[-1:])
            pending = []
            continue
        match = re.match(r"^\s+([a-z_]+):", line)
        if match and section:
            notes[f"{section}.{match.group(1)}"] = " ".join(pending)
        pending = []
    return titles, notes


def shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if value == "":
        return '""'
    return str(value)


def studybuddy_yaml_5() -> str:
    from studybuddy.config import describe_settings

    titles, notes = example_comments((TOP / "config.example.yaml").read_text(encoding="utf-8"))
    out = header("studybuddy.yaml", 5, "StudyBuddy Manual")
    out += ["studybuddy.yaml \\- StudyBuddy configuration file",
            ".SH SYNOPSIS",
            "\\fI/etc/studybuddy/config.yaml\\fR",
            ".SH DESCRIPTION",
            "One YAML mapping of sections, each a mapping of settings. Every setting is optional; a",
            "missing one takes the default shown below. Checking is strict: an unknown section or",
            "setting, or a value of the wrong type, is an error (booleans are \\fBtrue\\fR or",
            "\\fBfalse\\fR only). \\fBstudybuddy check\\-config\\fR \\fIFILE\\fR lists every problem.",
            ".PP",
            "Any setting can be overridden from the environment as",
            "\\fBSTUDYBUDDY_\\fR\\fISECTION\\fR\\fB__\\fR\\fIKEY\\fR (lists comma\\-separated).",
            "Secret settings (marked below) never need to be in this file: the services read them",
            "from systemd credentials (\\fI/etc/credstore/studybuddy.\\fR\\fINAME\\fR, handed over",
            "by \\fBLoadCredential=\\fR), or from a file named by \\fIKEY\\fR\\fB_file\\fR.",
            ".PP",
            "The Debian package sets \\fBapp.state_dir\\fR to \\fI/var/lib/studybuddy\\fR and",
            "\\fBbroker.url\\fR to the local RabbitMQ; everything else keeps its default."]
    current = ""
    for dotted, default, is_secret in describe_settings():
        section, key = dotted.split(".", 1)
        if section != current:
            current = section
            title = titles.get(section, "")
            out += [f".SH SECTION {esc(section)}" + (f" \\- {esc(title)}" if title else "")]
        out += [".TP", f"\\fB{esc(key)}\\fR (default: {esc(shown(default))})"
                + (" \\- secret" if is_secret else "")]
        out += [esc(notes.get(dotted) or "See config.example.yaml.")]
    out += [".SH EXAMPLE",
            ".nf",
            "app:",
            "  base_url: \"https://study.example.org\"",
            "broker:",
            "  url: \"amqp://studybuddy:PASSWORD@127.0.0.1:5672/studybuddy\"",
            "mail:",
            "  enabled: true",
            "  host: \"smtp.example.org\"",
            "  admin_to: [\"admin@example.org\"]",
            ".fi",
            ".SH FILES",
            "\\fI/usr/share/doc/studybuddy/operations.md.gz\\fR \\- the operations guide.",
            ".SH SEE ALSO",
            "\\fBstudybuddy\\fR(1), \\fBsystemd.exec\\fR(5) (LoadCredential=)"]
    return "\n".join(out) + "\n"


def main() -> int:
    docs = TOP / "packaging/docs"
    (docs / "studybuddy.1").write_text(studybuddy_1(), encoding="utf-8")
    (docs / "studybuddy.yaml.5").write_text(studybuddy_yaml_5(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
