"""State-changing commands run by root continue as the service account.

Files such a command creates in the state or backup directory (the database, uploaded files,
archives) must stay usable by the services; made by root they would not be. So a command run
as root switches to the `studybuddy` account before it touches anything, or, when it cannot,
refuses and prints the exact command to run instead. Without the account (a development
machine) nothing changes.
"""

from __future__ import annotations

import os
import pwd
import shlex
import sys

SERVICE_ACCOUNT = "studybuddy"


class RunAsError(Exception):
    """Root could not become the service account; the message holds the command to run."""


def become_service_account(argv: list[str] | None = None) -> bool:
    """Switch this process to the service account if it runs as root; True if it switched."""
    if os.geteuid() != 0:
        return False
    try:
        account = pwd.getpwnam(SERVICE_ACCOUNT)
    except KeyError:
        return False
    try:
        os.initgroups(account.pw_name, account.pw_gid)
        os.setgid(account.pw_gid)
        os.setuid(account.pw_uid)
    except OSError as exc:
        command = shlex.join(["sudo", "-u", SERVICE_ACCOUNT, "studybuddy", *(argv or sys.argv[1:])])
        raise RunAsError(f"running as root, and cannot switch to the {SERVICE_ACCOUNT} account ({exc.strerror}); "
                         f"run instead: {command}") from None
    os.environ["HOME"] = account.pw_dir
    os.environ["USER"] = os.environ["LOGNAME"] = account.pw_name
    # The services share the state directory through their group (UMask=0007 in the units).
    os.umask(0o007)
    return True
