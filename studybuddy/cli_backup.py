"""`studybuddy backup`, `restore` and `migrate`: what an administrator needs to keep the data safe."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from .config import Config

log = logging.getLogger(__name__)

# Every unit by name (a glob of the loaded ones): systemctl then waits until each has stopped,
# which stopping only the target (its PartOf= units stop after it returns) does not.
STOP = "sudo systemctl stop 'studybuddy*'"
START = "sudo systemctl start studybuddy.target studybuddy-backup.timer"


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _summary(manifest: dict[str, Any]) -> str:
    store = manifest.get("store", {})
    return (f"made by StudyBuddy {manifest.get('app_version', '?')} on {manifest.get('host', '?')} at "
            f"{manifest.get('created_at', '?')}; {store.get('engine')} store, schema {store.get('schema_version')}")


def _tables(tables: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(tables.items())) or "no tables"


@click.command("backup")
@click.option("--to", "to_dir", metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
              help="Write the archive into DIR (default: backup.dir).")
@click.option("--verify", "verify_path", metavar="ARCHIVE", type=click.Path(dir_okay=False, path_type=Path),
              help="Only check ARCHIVE: every member against its SHA-256, the manifest, the schema. "
                   "Restores nothing.")
@click.option("--label", default="", metavar="TEXT", help="Added to the archive's name (e.g. pre-upgrade-0.1.0); "
              "labelled archives are never pruned.")
@click.option("--prune", is_flag=True, help="Afterwards delete old archives in the directory beyond "
              "backup.keep_daily and backup.keep_weekly.")
@click.pass_obj
def backup(obj: Any, to_dir: Path | None, verify_path: Path | None, label: str, prune: bool) -> None:
    """Back up the store, the uploaded files and the configuration (without secrets) into one archive.

    Safe while the services run: SQLite is copied with its online backup API, MongoDB collection by
    collection. The archive (mode 0600) appears only when complete.
    """
    from .backup import BackupError, create_backup, prune as prune_dir, verify_backup

    if verify_path is not None:
        try:
            manifest = verify_backup(verify_path)
        except BackupError as exc:
            raise click.ClickException(f"{verify_path}: {exc}") from None
        members = manifest.get("members", {})
        click.echo(f"{verify_path}: OK — {len(members)} members match their SHA-256")
        click.echo(f"  {_summary(manifest)}")
        click.echo(f"  records: {_tables(manifest.get('store', {}).get('tables', {}))}")
        return
    # Root continues as the account that owns the state (Context.service_config): what this
    # writes there (archives, the restored store) stays usable by the services.
    cfg = obj.service_config()
    try:
        path, manifest = create_backup(cfg, to_dir, label=label, config_source=obj.config_path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    store = manifest["store"]
    click.echo(f"backup written: {path} ({_mb(path.stat().st_size)})")
    click.echo(f"  {store['engine']} store, schema {store['schema_version']}; records: {_tables(store['tables'])}")
    click.echo(f"  blobs: {store['blobs']['count']} ({_mb(store['blobs']['bytes'])}); "
               f"secrets left out: {', '.join(manifest['config']['secrets_excluded']) or 'none set'}")
    if prune:
        removed = prune_dir(path.parent, cfg.backup.keep_daily, cfg.backup.keep_weekly)
        click.echo(f"  pruned {len(removed)} old archive(s)" + "".join(f"\n    {p.name}" for p in removed))


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a store that already holds data.")
@click.pass_obj
def restore(obj: Any, archive: Path, force: bool) -> None:
    """Restore ARCHIVE into the configured store (SQLite or MongoDB, whichever made it).

    Every checksum is verified first; an archive of a newer schema, a store that holds data
    (without --force) and a running system are refused, and the store is left as it was. Then
    migrations run and what was restored is printed. The services must be stopped.
    """
    from .backup import BackupError, restore_backup, running_units, target_for

    try:
        handle = archive.open("rb")  # opened before leaving root: the archive may be root's
    except OSError as exc:
        raise click.ClickException(f"{archive}: {exc.strerror}") from None
    # Root continues as the account that owns the state (Context.service_config): what this
    # writes there (archives, the restored store) stays usable by the services.
    cfg = obj.service_config()
    running = running_units(cfg)
    if running:
        raise click.ClickException(
            f"StudyBuddy is running ({', '.join(running)}); restoring under it would corrupt the data. "
            f"Stop it first:\n  {STOP}\nthen run the restore again, and afterwards:\n  {START}")
    try:
        with handle:
            report = restore_backup(handle, target_for(cfg), force=force)
    except BackupError as exc:
        raise click.ClickException(f"{archive}: {exc}") from None
    manifest = report.manifest
    click.echo(f"restored {archive}")
    click.echo(f"  {_summary(manifest)}")
    click.echo(f"  into the {report.target_engine} store ({cfg.storage_url.split('://')[0]}); schema "
               f"{report.schema_from} -> {report.schema_to}")
    click.echo(f"  records: {_tables(report.tables)}")
    click.echo(f"  blobs: {report.blobs} ({_mb(report.blob_bytes)})")
    secrets = manifest.get("config", {}).get("secrets_excluded", [])
    click.echo("  the backup's settings are in the archive (config/config.yaml), not applied; secrets not "
               f"included: {', '.join(secrets) or 'none were set'}")


@click.command("migrate")
@click.pass_obj
def migrate(obj: Any) -> None:
    """Bring the store's schema up to this version, in one transaction (the package runs this once
    on upgrade, with the services stopped). A failure leaves the data as it was and exits 1."""
    from .store import StoreError, open_store

    # Root continues as the account that owns the state (Context.service_config): what this
    # writes there (archives, the restored store) stays usable by the services.
    cfg = obj.service_config()
    before = _schema_version(cfg)
    try:
        store = open_store(cfg)
    except (StoreError, OSError) as exc:
        log.error("schema migration failed, the data was left as it was (schema %s): %s", before, exc)
        click.echo(f"migration failed: {exc}\nThe data was left as it was (schema {before}).", err=True)
        raise SystemExit(1) from None
    try:
        after = getattr(store, "schema_version", None)
    finally:
        store.close()
    if before is None or after is None:
        click.echo("store is ready (MongoDB: indexes ensured)")
    elif before == after:
        click.echo(f"schema {after} is current; nothing to do")
    else:
        click.echo(f"schema migrated {before} -> {after}")


def _schema_version(cfg: Config) -> int | None:
    import sqlite3

    url = cfg.storage_url
    if not url.startswith("sqlite:///"):
        return None
    path = Path(url[len("sqlite:///"):])
    if not path.is_file():
        return 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


COMMANDS = [backup, restore, migrate]
