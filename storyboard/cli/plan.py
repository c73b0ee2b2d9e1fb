"""`storyboard plan FILE`: each shot's exact request, dependencies, cache key, cost and state against
the lockfile (locked / changed / new); sends nothing.

Part of the command-line layer.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from storyboard.cli.common import EXIT_OK, add_vars, cost_words, print_warnings, service_identity, sets_from_args
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
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    from storyboard.engine.lockfile import batch_lockfile_path, lock_state
    from storyboard.engine.variants import load_batch
    from storyboard.store.lockfile import read_lockfile

    batch = load_batch(args.file, sets_from_args(args), service=service_identity(ServiceConfig.from_env()))
    print_warnings((v.loaded for v in batch.variants), err)
    lock = read_lockfile(batch_lockfile_path(batch))
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
    table = Table(title=escape(f"{plan.name}: {len(plan.jobs)} shots ({plan.service})"))
    for column in ("shot", "model", "size", "length", "needs", "tokens", f"cost {PRICE_CURRENCY}", "cache key", "lock"):
        table.add_column(column, no_wrap=True)
    for job in plan.jobs:
        length = f"{job.seconds:g} s / {job.frames} fr"
        cost = "n/a" if job.estimated_cost is None else f"{job.estimated_cost:.4f}"
        table.add_row(
            job.id, job.model.removeprefix("doubao-seedance-"), f"{job.width}x{job.height}", length, ", ".join(job.depends_on) or "-",
            f"{job.estimated_tokens:,}", cost, job.cache_key[:12], states[job.id],
        )  # fmt: skip
    out.print(table)
    for job in plan.jobs:
        out.print(f"[bold]{job.id}[/bold] request:")
        out.print(json.dumps(job.display_request(), ensure_ascii=False), markup=False)
        for note in job.notes:
            out.print(f"  note: {note}", markup=False)
    for name, shots in plan.asset_use().items():
        out.print(f"asset {name}: used by {', '.join(shots)}", markup=False)
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
