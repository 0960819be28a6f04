"""Re-run the profiler's checks, retries and choice of kept attempt over cached LLM responses.

    python scripts/replay_profiles.py --dataset ml-100k --kind users --split-seed 0 \\
        --llm-cache runs/bench_tuned_autograph/ml-100k/llm_responses.sqlite

Builds the prompts the profiles stage would build (dataset, per-user split of ``--split-seed``,
the ``llm.*`` settings of the default config or of ``--set``), then runs
:class:`autograph_rec.profiling.Profiler` against the response cache alone: no model is loaded and
nothing is generated; a prompt whose response (first attempt or a retry) is not in the cache stops
the script with the number missing. It prints, per final verdict, how many rows the current rules
keep, how many rows end unusable (encoded as template text by the pipeline), and the same for the
rule before CHECKS_VERSION 4 (keep the last attempt). Use it when the
checks or the retry logic change, to count what the change does to profiles already paid for.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from collections import Counter
from pathlib import Path

from autograph_rec.config import RunConfig
from autograph_rec.llm.base import LLMClient
from autograph_rec.llm.cache import CachedLLM
from autograph_rec.pipeline import prepare_data
from autograph_rec.profiling import USABLE
from autograph_rec.profiling.stage import make_profiler


class CacheOnly(LLMClient):
    """A client for a (backend, model) whose answers must all come from the cache."""

    def __init__(self, backend: str, model_id: str):
        self.backend, self.model_id = backend, model_id

    def generate(self, messages_batch, settings=None, *, on_result=None):
        raise SystemExit(f"{len(messages_batch)} prompts (max_new_tokens={settings.max_new_tokens}, "
                         f"temperature={settings.temperature}) are not in the cache: this replay generates nothing")


def cached_model(path: str, template_prefix: str) -> tuple[str, str]:
    """The one (backend, model) whose responses to ``template_prefix`` prompts the cache holds."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        pairs = conn.execute("SELECT DISTINCT backend, model FROM responses WHERE template LIKE ?",
                             (template_prefix + "%",)).fetchall()
    if len(pairs) != 1:
        raise SystemExit(f"{path}: expected responses of one model for {template_prefix}* prompts, found {pairs}")
    return pairs[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--kind", choices=("users", "items"), required=True)
    parser.add_argument("--split-seed", type=int, default=0, help="data.seed of the split (users only)")
    parser.add_argument("--llm-cache", required=True, help="SQLite response cache to replay")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="config overrides, e.g. llm.max_new_tokens=192 (as the run that filled the cache)")
    args = parser.parse_args()

    if not Path(args.llm_cache).is_file():
        raise SystemExit(f"--llm-cache {args.llm_cache}: no such file")
    with tempfile.TemporaryDirectory() as tmp:
        overrides = [f"data.name={args.dataset}", f"data.seed={args.split_seed}", f"output={tmp}", *args.set]
        if args.data_dir:
            overrides.append(f"data.data_dir={args.data_dir}")
        config = RunConfig().with_overrides(overrides)
        dataset, split = prepare_data(config.data)
    prefix = "user_preference/" if args.kind == "users" else "item_knowledge/"
    backend, model = cached_model(args.llm_cache, prefix)
    profiler = make_profiler(config.llm, CachedLLM(CacheOnly(backend, model), args.llm_cache), progress=False)
    profiles = profiler.profile_users(dataset, split) if args.kind == "users" else profiler.profile_items(dataset)
    frame = profiles.frame
    unusable = int((~frame["status"].isin(USABLE)).sum())
    # the profiler kept the *last* attempt before 2026-12-04 (CHECKS_VERSION 3): its verdict is the
    # kept one when the last attempt was kept, else the last of the other attempts' verdicts
    last = [status if kept == attempts - 1 else failures.split(";")[-1]
            for status, kept, attempts, failures in zip(frame["status"], frame["kept_attempt"], frame["attempts"],
                                                        frame["failures"])]
    unusable_last = sum(v not in USABLE for v in last)
    print(f"{args.dataset} {args.kind} (split seed {args.split_seed}), {model} via {backend}, {len(frame)} rows, "
          f"{profiles.stats['cached']} cached responses replayed")
    print("first-attempt verdicts:", dict(profiles.stats["first_verdicts"]))
    print("kept verdicts:", dict(profiles.stats["final_verdicts"]))
    print("kept attempt (0 = first):", dict(sorted(Counter(frame["kept_attempt"]).items())))
    print(f"unusable (template text in the pipeline): {unusable} ({unusable / max(len(frame), 1):.1%})")
    print("keeping the last attempt instead (the rule before CHECKS_VERSION 4):", dict(Counter(last).most_common()),
          f"unusable {unusable_last} ({unusable_last / max(len(frame), 1):.1%})")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
