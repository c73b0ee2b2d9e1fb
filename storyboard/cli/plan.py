"""`storyboard plan FILE`: each shot's exact request, dependencies, cache key, cost and state against
the lockfile (locked / changed / new), every take of a shot with takes on a line of its own (the
total counts them all); sends nothing.

Part of the command-line layer.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from storyboard.cli.common import (
    EXIT_OK,
    add_takes,
    add_vars,
    cost_words,
    print_warnings,
    service_identity,
    sets_from_args,
)
from storyboard.seedance.capabilities import PRICE_CURRENCY, PRICE_SOURCE
from storyboard.seedance.config import ServiceConfig

if TYPE_CHECKING:
    from storyboard.engine.variants import Batch
    from storyboard.store.lockfile import Lockfile

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("plan", help="show each shot's API request, cache key and cost; send nothing")
    p.add_argument("file", metavar="FILE")
    add_vars(p)
    add_takes(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    from storyboard.cli.locked import print_stale_picks, read_lock
    from storyboard.engine.lockfile import lock_state
    from storyboard.engine.variants import load_batch

    lock_path, lock = read_lock(args.file)  # its picks choose the takes chained shots start from
    batch = load_batch(
        args.file, sets_from_args(args), service=service_identity(ServiceConfig.from_env()),
        picks=lock.pick_map if lock is not None else None, takes=args.takes,
    )  # fmt: skip
    print_warnings((v.loaded for v in batch.variants), err)
    print_stale_picks(batch, lock_path, lock, err)
    if len(batch.variants) > 1:
        return _plan_variants(batch, lock, args.json, out)
    plan = batch.plan
    states = {j.id: lock_state(j.id, j.cache_key, lock) for j in plan.jobs}
    if args.json:
        doc = plan.to_json()
        for shot in doc["shots"]:
            shot["lock"] = states[shot["id"]]
        out.print_json(json.dumps(doc, ensure_ascii=False))
        return EXIT_OK
    # user text goes through escape(): "[draft]" in a name is text, not rich markup
    shots = len(plan.picked)
    takes = f", {len(plan.jobs)} clips with takes" if len(plan.jobs) > shots else ""
    table = Table(title=escape(f"{plan.name}: {shots} shots{takes} ({plan.service})"))
    columns = ["shot", "model", "size", "length", "needs", "tokens", f"cost {PRICE_CURRENCY}", "cache key", "lock"]
    if takes:  # a column only a storyboard with takes needs
        columns.insert(1, "take")
    for column in columns:
        table.add_column(column, no_wrap=True)
    for job in plan.jobs:
        length = f"{job.seconds:g} s / {job.frames} fr"
        cost = "n/a" if job.estimated_cost is None else f"{job.estimated_cost:.4f}"
        cells = [
            job.id, job.model.removeprefix("doubao-seedance-"), f"{job.width}x{job.height}", length,
            ", ".join(job.depends_on) or "-", f"{job.estimated_tokens:,}", cost, job.cache_key[:12], states[job.id],
        ]  # fmt: skip
        if takes:
            cells.insert(1, "-" if job.takes == 1 else f"{job.take}/{job.takes}" + (" picked" if job.picked else ""))
        table.add_row(*cells)
    out.print(table)
    for job in plan.jobs:
        out.print(f"[bold]{job.id}[/bold] request:")
        out.print(json.dumps(job.display_request(), ensure_ascii=False), markup=False)
        for note in job.notes:
            out.print(f"  note: {note}", markup=False)
    for name, users in plan.asset_use().items():
        out.print(f"asset {name}: used by {', '.join(users)}", markup=False)
    out.print(
        f"total: {plan.estimated_tokens:,} tokens, estimated cost {cost_words(plan.estimated_cost)}", markup=False
    )
    out.print(f"prices: {PRICE_SOURCE}", markup=False)
    return EXIT_OK


def _plan_variants(batch: Batch, lock: Lockfile | None, as_json: bool, out: Console) -> int:
    from storyboard.engine.lockfile import lock_state

    # by combined job id: the lockfile of a template lists every unique job once
    states = {j.id: lock_state(j.id, j.cache_key, lock) for j in batch.plan.jobs}
    if as_json:
        doc = batch.to_json()
        for v, variant in zip(batch.variants, doc["variants"], strict=True):
            for shot in variant["shots"]:
                shot["lock"] = states[batch.ids[(v.number, shot["id"])]]
        out.print_json(json.dumps(doc, ensure_ascii=False))
        return EXIT_OK
    table = Table(title=escape(f"{batch.plan.name}: {len(batch.variants)} variants ({batch.plan.service})"))
    for column in ("row", "output", "new shots", "shared shots", "lock"):
        table.add_column(column)
    for v in batch.variants:
        new = [j.id for j in v.plan.jobs if not batch.shared(v, j.id)]
        shared = [j.id for j in v.plan.jobs if batch.shared(v, j.id)]
        mine = [states[batch.ids[(v.number, j.id)]] for j in v.plan.jobs]
        lock_words = ", ".join(f"{mine.count(s)} {s}" for s in ("locked", "changed", "new") if s in mine)
        table.add_row(str(v.number), escape(str(v.output)), ", ".join(new) or "-", ", ".join(shared) or "-", lock_words)
    out.print(table)
    plan = batch.plan
    cost = cost_words(plan.estimated_cost)
    out.print(
        f"total: {len(plan.jobs)} unique generations for {sum(len(v.plan.jobs) for v in batch.variants)} "
        f"shots, {plan.estimated_tokens:,} tokens, estimated cost {cost}",
        markup=False,
    )
    out.print(f"prices: {PRICE_SOURCE}", markup=False)
    return EXIT_OK
