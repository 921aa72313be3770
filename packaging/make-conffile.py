#!/usr/bin/python3
"""Write the packaged /etc/studybuddy/config.yaml from config.example.yaml.

The example documents every setting with its default; the package changes only the few
settings that differ on an installed host (state in /var/lib/studybuddy, the local
RabbitMQ). Each change replaces the setting's line in its section, keeping the comments, or
adds the line to the section when the example leaves it commented out. A section that is
missing is an error, so a renamed section cannot slip through silently.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PACKAGED: dict[tuple[str, str], str] = {
    ("app", "state_dir"): "/var/lib/studybuddy",
    ("broker", "url"): "amqp://guest:guest@127.0.0.1:5672//",
    ("backup", "dir"): "/var/backups/studybuddy",
}

SECTION = re.compile(r"^([a-z_]+):\s*(#.*)?$")


def packaged_config(example: str) -> str:
    lines = example.splitlines()
    out: list[str] = []
    section = ""
    done: set[tuple[str, str]] = set()
    indent = "  "

    def flush_section() -> None:
        for (sec, key), value in PACKAGED.items():
            if sec == section and (sec, key) not in done:
                out.append(f"{indent}{key}: {quote(value)}  # set by the Debian package")
                done.add((sec, key))

    for line in lines:
        match = SECTION.match(line)
        if match:
            flush_section()
            section = match.group(1)
            out.append(line)
            continue
        key_match = re.match(r"^(\s+)([a-z_]+):(\s*)([^#]*?)(\s*#.*)?$", line)
        if section and key_match and (section, key_match.group(2)) in PACKAGED:
            indent = key_match.group(1)
            key = key_match.group(2)
            comment = key_match.group(5) or ""
            out.append(f"{indent}{key}: {quote(PACKAGED[(section, key)])}{comment}")
            done.add((section, key))
            continue
        out.append(line)
    flush_section()
    missing = sorted(f"{s}.{k}" for (s, k) in PACKAGED if (s, k) not in done)
    if missing:
        raise SystemExit(f"config.example.yaml has no section for: {', '.join(missing)}")
    return "\n".join(out) + "\n"


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(f"usage: {argv[0]} EXAMPLE OUTPUT", file=sys.stderr)
        return 2
    text = Path(argv[1]).read_text(encoding="utf-8")
    Path(argv[2]).write_text(packaged_config(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
