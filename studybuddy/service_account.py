"""Commands run as the account that owns StudyBuddy's state, never as root.

The services keep their data in `app.state_dir`, owned by the service account (`studybuddy` on
a packaged host, group-writable for the monitor's account). A command that root ran and that
wrote there would leave files the services cannot open. So a command that touches the state
calls `run_as_state_owner` once it has read what only root may read (the credential store):

- run by root, it becomes the owner of the state directory (its groups, its umask);
- run by the owner, or by an account that may write there (the monitor's), nothing changes;
- run by anyone else, it stops with the exact command that works.
"""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

# The services' UMask=: what they create stays usable by the other account of the group.
SERVICE_UMASK = 0o007
# The monitor's account (systemd/studybuddy.sysusers.conf), the one the polkit rule trusts.
MONITOR_ACCOUNT = "studybuddy-monitor"


class WrongAccount(Exception):
    """This account may not change the state; the message names the command that may."""


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: str


def account_of_uid(uid: int) -> Account:
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        return Account(str(uid), uid, uid, "/")
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)


def state_owner(state_dir: Path) -> Account | None:
    """The owner of the state directory, or None while it does not exist."""
    try:
        return account_of_uid(state_dir.stat().st_uid)
    except FileNotFoundError:
        return None


def may_write(state_dir: Path, files: tuple[Path, ...] = ()) -> bool:
    """Can this process create files in the state directory and write the given ones?"""
    if not os.access(state_dir, os.W_OK | os.X_OK):
        return False
    return all(os.access(f, os.R_OK | os.W_OK) for f in files if f.exists())


def become(account: Account) -> None:
    """Switch this (root) process to `account` for good: groups, group, user, umask, HOME."""
    try:
        groups = os.getgrouplist(account.name, account.gid)
    except KeyError:
        groups = [account.gid]
    os.setgroups(groups)
    os.setgid(account.gid)
    os.setuid(account.uid)
    os.umask(SERVICE_UMASK)
    os.environ.update(HOME=account.home, USER=account.name, LOGNAME=account.name)


def sharing_account(name: str, state_dir: Path) -> Account | None:
    """The account `name` when it exists and may write the state through its group, else None."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    st = state_dir.stat()
    if st.st_gid not in os.getgrouplist(name, entry.pw_gid) or st.st_mode & 0o070 != 0o070:
        return None
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)


def run_as_state_owner(state_dir: Path, command: str, files: tuple[Path, ...] = (),
                       prefer: str = "") -> Account | None:
    """Make the rest of this process run as the state's owner, or refuse with the way to run it.

    `command` is the command line as the user typed it (shown in the refusal); `files` are
    files in the state directory the command will write (the SQLite database). Root becomes
    `prefer` instead of the owner when that account shares the state through its group (the
    monitor's commands run as the monitor's account, the one polkit lets restart units).
    Returns the account switched to, or None when no switch was needed."""
    owner = state_owner(state_dir)
    uid = os.geteuid()
    if owner is None or owner.uid == uid:
        # Nothing there yet (a new, unpackaged setup): what we create is ours.
        return None
    if uid == 0:
        target = (sharing_account(prefer, state_dir) if prefer else None) or owner
        become(target)
        return target
    if may_write(state_dir, files):
        return None
    me = account_of_uid(uid).name
    group = _group_name(state_dir)
    switches = f", which switches to {owner.name} itself" if owner.uid != 0 else ""
    raise WrongAccount(
        f"{me} may not write {state_dir} (owner {owner.name}, group {group}); run it as root{switches}: "
        f"sudo {command}")


def _group_name(path: Path) -> str:
    gid = path.stat().st_gid
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
