"""`storyboard pick FILE SHOT TAKE`: choose the take of a shot that the video uses.

Records the pick in the storyboard's lockfile (written atomically; untouched when the take is
already picked) and says what the next render will do about it: the video switches to the
picked take's clip, and the shots that chain from the shot get a new first frame, so they are
generated again unless a cache holds them already. Creates nothing itself. The checks and the
effects are ``engine.picks``'s. Part of the command-line layer.
"""

from __future__ import annotations

import argparse
import os

from rich.console import Console

from storyboard.cli.common import EXIT_OK, add_takes, add_vars, service_identity, sets_from_args
from storyboard.cli.locked import read_lock
from storyboard.engine.picks import changed_jobs, with_pick
from storyboard.engine.variants import load_batch
from storyboard.errors import ConfigError, Issue
from storyboard.seedance.config import ServiceConfig
from storyboard.store.cache import Cache, default_cache_dir

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "pick",
        help="choose which take of a shot the video uses (recorded in the lockfile)",
        description="Records the pick in STEM.lock.yaml; the next render assembles with that take and "
        "generates again only the shots that chain from it. Sends nothing.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("shot", metavar="SHOT")
    p.add_argument("take", metavar="TAKE", type=int, help="1 to the shot's number of takes")
    add_vars(p)
    add_takes(p)


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Run `storyboard pick`; returns the exit code."""
    path, lock = read_lock(args.file)
    service = service_identity(ServiceConfig.from_env())
    sets = sets_from_args(args)
    picks = lock.pick_map if lock is not None else None
    before = load_batch(args.file, sets, service=service, picks=picks, takes=args.takes)
    if lock is None:
        raise ConfigError([Issue("pick", 0, 0, "", f"{path} does not exist yet: render {args.file} first, "
                                 "then pick among its takes")])  # fmt: skip
    picked = with_pick(before, lock, args.shot, args.take)
    was = lock.pick_map.get(args.shot, 1)
    if picked == lock:
        out.print(f'take {args.take} of shot "{args.shot}" is already picked; nothing changes', markup=False)
        return EXIT_OK
    after = load_batch(args.file, sets, service=service, picks=picked.pick_map, takes=args.takes)
    picked.write(path)
    out.print(f'picked take {args.take} of shot "{args.shot}" (was take {was}) in {path}', markup=False)
    job = next(j for j in after.variants[0].plan.jobs if j.shot == args.shot and j.take == args.take)
    if lock.shot(job.id) is None:
        out.print(f'take {args.take} has no clip yet: the next render generates it ("{job.id}")', markup=False)
    cache = Cache(default_cache_dir(os.environ))
    cache.read_only = True  # a look, not a render: a corrupt entry stays for the render to replace
    changed = changed_jobs(before.plan, after.plan)
    made = [j.id for j in changed if cache.get(j.cache_key) is None]
    cached = [j.id for j in changed if j.id not in made]
    if cached:
        out.print(f"from the cache (free): {', '.join(cached)}", markup=False)
    if made:
        out.print(f'the next render generates {", ".join(made)} (chained from take {args.take} of "{args.shot}")',
                  markup=False)  # fmt: skip
    elif not cached:
        out.print("the next render generates nothing: only the video changes", markup=False)
    return EXIT_OK
