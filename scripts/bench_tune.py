"""Optuna search with and without pruning: LightGCN on MovieLens-100K.

Runs one study per pruner (same seeded TPE sampler, same space, same trial budget) through
:func:`autograph_rec.hpo.tune`, each in a fresh directory with its embedded SQLite storage, and
reports the search's wall time, epochs trained, complete/pruned trials, the best VALIDATION
NDCG@20 (the objective) and the TEST metrics of the best config retrained once.

    python scripts/bench_tune.py --n-trials 30 --epochs 60 --threads 1

Writes docs/results/tune_ml100k.md and .json. Open a study afterwards with
``optuna-dashboard sqlite:///runs/bench_tune/median/study.db``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _bench import ROOT, header, write_result  # noqa: E402


def epochs_trained(study) -> int:
    """Epochs actually trained over all finished trials (pruned ones stop at their last report)."""
    total = 0
    for t in study.get_trials(deepcopy=False):
        if "epochs_run" in t.user_attrs:
            total += int(t.user_attrs["epochs_run"])
        elif t.intermediate_values:
            total += max(t.intermediate_values)
    return total


def run_study(pruner: str, args) -> dict:
    import optuna

    from autograph_rec.config import RunConfig
    from autograph_rec.hpo import tune

    out = Path(args.output) / pruner
    if out.exists() and not args.resume:
        shutil.rmtree(out)
    base = RunConfig().with_overrides([
        "data.name=ml-100k", f"train.epochs={args.epochs}", f"train.eval_every={args.eval_every}",
        f"train.warmup_epochs={args.warmup}", f"train.num_threads={args.threads}", "train.device=cpu",
        *args.set,
    ])
    t0 = time.perf_counter()
    result = tune(args.space, base, out, n_trials=args.n_trials, pruner=pruner, seed=args.seed, study_name=f"bench-{pruner}")
    wall = time.perf_counter() - t0
    study = optuna.load_study(study_name=f"bench-{pruner}", storage=f"sqlite:///{(out / 'study.db').resolve()}")
    r = result.retrained
    return {
        "pruner": pruner,
        "search_seconds": result.seconds,
        "total_seconds": wall,
        "counts": result.counts,
        "epochs_trained": epochs_trained(study),
        "best_trial": result.best_trial,
        "best_valid": result.best_value,
        "best_params": result.best_params,
        "retrained": {k: r[k] for k in ("valid", "test", "best_epoch", "epochs_run", "seconds")},
        "storage": f"sqlite:///{out / 'study.db'}",
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default=str(ROOT / "configs" / "spaces" / "lightgcn.yaml"))
    p.add_argument("--n-trials", type=int, default=30)
    p.add_argument("--pruners", nargs="+", default=["median", "none"])
    p.add_argument("--epochs", type=int, default=60, help="epoch cap per trial")
    p.add_argument("--eval-every", type=int, default=5)
    p.add_argument("--warmup", type=int, default=20, help="no early stop and no median pruning before this epoch")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0, help="sampler seed (split, init and sampling keep seed 0)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra base-config override")
    p.add_argument("--output", default=str(ROOT / "runs" / "bench_tune"))
    p.add_argument("--resume", action="store_true", help="continue existing studies instead of starting fresh")
    args = p.parse_args()

    rows = [run_study(pruner, args) for pruner in args.pruners]
    lines = [
        "| pruner | complete / pruned | epochs trained | search wall time | best valid NDCG@20 (trial) "
        "| retrained: test Recall@20 | test NDCG@20 | best params |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        c, t = row["counts"], row["retrained"]["test"]
        params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row["best_params"].items())
        lines.append(f"| {row['pruner']} | {c['complete']} / {c['pruned']} | {row['epochs_trained']} | "
                     f"{row['search_seconds']:.0f} s | {row['best_valid']:.4f} ({row['best_trial']}) | "
                     f"{t['recall@20']:.4f} | {t['ndcg@20']:.4f} | {params} |")
    md = header(
        f"Optuna search: LightGCN on MovieLens-100K, {args.n_trials} trials, pruning vs none",
        f"- settings: space `{Path(args.space).relative_to(ROOT) if Path(args.space).is_relative_to(ROOT) else args.space}`, "
        f"TPE seed {args.seed} (per-trial seeded), ≤ {args.epochs} epochs per trial, validation every {args.eval_every}, "
        f"warm-up {args.warmup} epochs, patience 5, objective = validation NDCG@20 at the best epoch; split random "
        f"per user 80/10/10 seed 0; torch threads {args.threads}; overrides {args.set or 'none'}\n",
    ) + "\n".join(lines) + "\n"
    write_result("tune_ml100k", md, {"args": vars(args), "rows": rows})
    print(md)


if __name__ == "__main__":
    main()
