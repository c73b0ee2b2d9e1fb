"""`storyboard cache pull|push|ls|verify|gc`: the local cache and the shared remote one, by hand.

Owns the wording and exit codes of those commands: ``pull FILE`` fetches every clip a
storyboard (every variant) needs from the remote, generating nothing; ``push`` uploads local
entries the remote lacks; ``ls`` lists entries (local, or the remote's with ``--remote``);
``verify`` re-hashes every entry (corrupt local ones are dropped); ``gc`` drops local entries no
given storyboard uses and/or older than N days. A remote that cannot be reached is an error
here (exit 1): reaching it is the command's whole point. Part of the command-line layer.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterable

from rich.console import Console

from storyboard.cli.common import EXIT_FAILED, EXIT_OK, add_vars, service_identity, sets_from_args
from storyboard.cli.remote import REMOTE_ENV, add_remote, open_cache
from storyboard.errors import ConfigError, Issue
from storyboard.seedance.config import ServiceConfig
from storyboard.store.cache import META_VERSION, Cache, CachedClip, ClipMeta, default_cache_dir
from storyboard.store.inventory import (
    LocalEntry,
    check_entry,
    drop_entry,
    folder_bytes,
    incomplete_entries,
    local_entries,
)
from storyboard.store.tiered import TieredCache

__all__ = ["add_parser", "run"]

DAY = 86400.0
STALE = 3600.0  # an entry folder without its meta.json this old is a crashed write's debris


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "cache", help="pull, push, list, verify and clean the clip cache",
        description="The local clip cache ($STORYBOARD_CACHE_DIR) and the shared remote one "
        f"(--remote URL or ${REMOTE_ENV}: s3://bucket/prefix, gs://..., az://..., file:///path).",
    )  # fmt: skip
    cmds = p.add_subparsers(dest="cache_command", metavar="COMMAND", required=True)
    pull = cmds.add_parser("pull", help="fetch every clip a storyboard needs from the remote; generate nothing")
    pull.add_argument("file", metavar="FILE")
    add_vars(pull)
    add_remote(pull)
    push = cmds.add_parser("push", help="upload the local entries the remote lacks")
    add_remote(push)
    ls = cmds.add_parser("ls", help="list entries: shot, model, size, age (the remote's with --remote)")
    add_remote(ls, env=False)
    verify = cmds.add_parser("verify", help="re-hash every entry; drop corrupt local ones (the remote's: --remote)")
    add_remote(verify, env=False)
    gc = cmds.add_parser(
        "gc", help="drop local entries no given storyboard uses, or older than DAYS",
        description="Drops local entries that none of the given storyboards (every variant) uses; with "
        "--older-than, entries older than DAYS; with both, entries matching both. Entries another version "
        "of storyboard wrote are kept; the remote is never touched.",
    )  # fmt: skip
    gc.add_argument("files", nargs="*", metavar="FILE")
    add_vars(gc)
    gc.add_argument("--older-than", type=_days, metavar="DAYS", help="drop entries generated more than DAYS ago")
    gc.add_argument("--dry-run", action="store_true", help="say what would be dropped; drop nothing")


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of days (got {text!r})") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of days >= 0 (got {text})")
    return value


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    root = default_cache_dir(os.environ)
    command = args.cache_command
    remote_flag = command in ("pull", "push") or getattr(args, "remote", None) is not None
    cache = open_cache(root, args, env=command in ("pull", "push")) if remote_flag else TieredCache(Cache(root), None)
    if command in ("pull", "push") and cache.remote is None:
        raise ConfigError([Issue("--remote", 0, 0, "", f"no remote cache: pass --remote URL or set {REMOTE_ENV}")])
    if cache.remote is not None and command != "pull":  # pull reads its storyboard first
        cache.remote.require()  # unreachable: one line, exit 1
    code = {"pull": _pull, "push": _push, "ls": _ls, "verify": _verify, "gc": _gc}[command](args, cache, out, err)
    for warning in cache.warnings:
        err.print(f"warning: {warning}", style="yellow", markup=False)
    return code


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError  # pragma: no cover


def _age(created: float, now: float) -> str:
    seconds = max(0.0, now - created)
    for unit, size in (("d", DAY), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"


def _shot(meta: ClipMeta | None) -> str:
    return meta.shot if meta is not None else "?"


def _where(cache: TieredCache) -> str:
    return cache.remote.url if cache.remote is not None else f"local: {cache.root}"


# -- pull / push -------------------------------------------------------------------------------


def _pull(args: argparse.Namespace, cache: TieredCache, out: Console, err: Console) -> int:
    from storyboard.cli.locked import read_lock
    from storyboard.engine.variants import load_batch

    assert cache.remote is not None
    _path, lock = read_lock(args.file)  # the picked takes decide the chained shots' keys
    batch = load_batch(
        args.file, sets_from_args(args), service=service_identity(ServiceConfig.from_env()),
        picks=lock.pick_map if lock is not None else None,
    )  # fmt: skip
    cache.remote.require()
    found: dict[str, list[str]] = {"local": [], "remote": [], "miss": []}
    for job in batch.plan.jobs:
        found[cache.lookup(job.cache_key)[1]].append(job.id)
    out.print(
        f"{len(found['remote'])} pulled, {len(found['local'])} already local, {len(found['miss'])} missing "
        f"of {len(batch.plan.jobs)} clips from {cache.remote.url}",
        markup=False,
    )
    if found["miss"]:
        out.print(f"missing: {', '.join(found['miss'])} (render generates them)", markup=False)
    return EXIT_OK if cache.remote.available else EXIT_FAILED


def _entry(local: LocalEntry) -> CachedClip:
    assert local.meta is not None
    frame = local.folder / "last_frame.png" if local.meta.last_frame_sha256 is not None else None
    return CachedClip(local.key, local.folder / "clip.mp4", frame, local.meta)


def _push(args: argparse.Namespace, cache: TieredCache, out: Console, err: Console) -> int:
    assert cache.remote is not None
    counts = {"pushed": 0, "present": 0, "failed": 0}
    corrupt = 0
    entries = [e for e in local_entries(cache.local) if not e.foreign]
    for local in entries:
        problem = check_entry(local)
        if problem is not None:
            corrupt += 1
            err.print(f"skipped {local.key[:12]} ({_shot(local.meta)}): {problem}", style="yellow", markup=False)
            continue
        counts[cache.push(_entry(local))] += 1
    line = f"{counts['pushed']} pushed, {counts['present']} already on the remote"
    if corrupt:
        line += f", {corrupt} corrupt skipped (storyboard cache verify drops them)"
    out.print(f"{line} of {len(entries)} local entries to {cache.remote.url}", markup=False)
    return EXIT_FAILED if counts["failed"] else EXIT_OK


# -- ls / verify ---------------------------------------------------------------------------------


def _rows(cache: TieredCache) -> list[tuple[str, ClipMeta | None, int]]:
    if cache.remote is not None:
        return [(key, meta, meta.clip_bytes if meta else 0) for key, meta in cache.remote.entries()]
    return [(e.key, e.meta, e.meta.clip_bytes if e.meta else 0) for e in local_entries(cache.local)]


def _ls(args: argparse.Namespace, cache: TieredCache, out: Console, err: Console) -> int:
    rows = _rows(cache)
    if not rows:
        out.print(f"no entries ({_where(cache)})", markup=False)
        return EXIT_OK
    now = time.time()
    rows.sort(key=lambda r: (-(r[1].created if r[1] else 0.0), r[0]))
    table = [("key", "shot", "model", "size", "age")] + [
        (key[:12], _shot(meta), meta.model.removeprefix("doubao-seedance-") if meta else "(unreadable meta.json)",
         _size(size), _age(meta.created, now) if meta else "?")
        for key, meta, size in rows
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    for row in table:
        out.print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), markup=False)
    total = sum(size for _, _, size in rows)
    out.print(f"{len(rows)} entr{'y' if len(rows) == 1 else 'ies'}, {_size(total)} ({_where(cache)})", markup=False)
    return EXIT_OK


def _verify(args: argparse.Namespace, cache: TieredCache, out: Console, err: Console) -> int:
    bad = skipped = total = 0
    if cache.remote is not None:
        staging = cache.staging_dir()
        for key, meta in cache.remote.entries():
            total += 1
            if meta is not None and meta.version != META_VERSION:
                skipped += 1
                continue
            problem = cache.remote.verify(key, staging) if meta is not None else "meta.json is unreadable"
            if problem is not None:
                bad += 1
                out.print(f"corrupt: {key[:12]} ({_shot(meta)}): {problem}; left on the remote "
                          "(the next render that needs it generates it again and replaces it)", markup=False)  # fmt: skip
    else:
        for local in local_entries(cache.local):
            total += 1
            if local.foreign:
                skipped += 1
                continue
            problem = check_entry(local)
            if problem is not None:
                bad += 1
                dropped = drop_entry(cache.local, local.folder) is not None
                cache.forget(local.key)
                what = "dropped" if dropped else "kept: a running render is writing it"
                out.print(f"corrupt: {local.key[:12]} ({_shot(local.meta)}): {problem}; {what}", markup=False)
    other = f", {skipped} of another format skipped" if skipped else ""
    noun = "entry" if total == 1 else "entries"
    out.print(f"verified {total} {noun}: {total - bad - skipped} ok, {bad} corrupt{other} ({_where(cache)})",
              markup=False)  # fmt: skip
    return EXIT_FAILED if bad else EXIT_OK


# -- gc --------------------------------------------------------------------------------------------


def _used_keys(args: argparse.Namespace, services: Iterable[str]) -> set[str]:
    """Every cache key the given storyboards need, for every service that made an entry (keys
    include the service, and gc must not judge a real clip by emulator keys)."""
    from storyboard.cli.locked import read_lock
    from storyboard.engine.variants import load_batch

    sets = sets_from_args(args)
    keys: set[str] = set()
    for file in args.files:
        _path, lock = read_lock(file)  # a pick changes the keys of the shots chained from it
        picks = lock.pick_map if lock is not None else None
        for service in services:
            keys.update(job.cache_key for job in load_batch(file, sets, service=service, picks=picks).plan.jobs)
    return keys


def _gc(args: argparse.Namespace, cache: TieredCache, out: Console, err: Console) -> int:
    if not args.files and args.older_than is None:
        raise ConfigError([Issue("cache gc", 0, 0, "", "name the storyboards whose clips to keep (FILE...), "
                                 "--older-than DAYS, or both; nothing was dropped")])  # fmt: skip
    entries = [e for e in local_entries(cache.local) if not e.foreign]
    now = time.time()
    services = {e.meta.service for e in entries if e.meta} | {service_identity(ServiceConfig.from_env()), "emulator"}
    used = _used_keys(args, sorted(services)) if args.files else None  # a bad FILE stops gc here
    dropped: list[LocalEntry] = []
    for entry in entries:
        created = entry.meta.created if entry.meta else (entry.folder / "meta.json").stat().st_mtime
        unused = used is None or entry.key not in used
        old = args.older_than is None or now - created > args.older_than * DAY
        if unused and old:
            dropped.append(entry)
    debris = incomplete_entries(cache.local, older_than=STALE)
    verb = "would drop" if args.dry_run else "dropped"
    freed = 0
    for entry in list(dropped):
        if args.dry_run:
            freed += folder_bytes(entry.folder)
            out.print(f"would drop {entry.key[:12]} ({_shot(entry.meta)})", markup=False)
            continue
        size = drop_entry(cache.local, entry.folder)
        if size is None:
            dropped.remove(entry)
            out.print(f"kept {entry.key[:12]} ({_shot(entry.meta)}): a running render is writing it", markup=False)
            continue
        freed += size
        cache.forget(entry.key)
    for folder in debris:
        freed += folder_bytes(folder) if args.dry_run else drop_entry(cache.local, folder) or 0
    extra = f" and {len(debris)} incomplete entry folders" if debris else ""
    out.print(f"{verb} {len(dropped)} of {len(entries)} entries{extra}, {_size(freed)}; "
              f"kept {len(entries) - len(dropped)} ({_where(cache)})", markup=False)  # fmt: skip
    return EXIT_OK
