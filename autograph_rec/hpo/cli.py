"""The ``autograph-rec tune`` command body (argument parsing stays in :mod:`autograph_rec.cli`)."""

from __future__ import annotations

import argparse
import sys

from ..config import RunConfig


def run_tune(args: argparse.Namespace, config: RunConfig, progress: bool = True) -> int:
    """Run :func:`~autograph_rec.hpo.tune` from parsed arguments and print the best config."""
    try:
        from .study import tune

        result = tune(args.space, config, output=config.output, n_trials=args.n_trials, storage=args.storage,
                      study_name=args.study_name, pruner=args.pruner, seed=args.seed or 0,
                      retrain=not args.no_retrain, heartbeat_interval=args.heartbeat_interval,
                      grace_period=args.grace_period, progress=progress,
                      valid_seeds=args.valid_seeds)
    except ImportError as exc:
        print(f"autograph-rec: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autograph-rec: interrupted; the running trial is marked FAIL. Run the same command to resume.",
              file=sys.stderr)
        return 130
    except (ValueError, RuntimeError) as exc:  # SpaceError, ConfigError, data errors, empty study
        print(f"autograph-rec: {exc}", file=sys.stderr)
        return 2
    print(format_tune(result, config.output))
    return 0


def format_tune(result, output: str) -> str:
    """Best trial, its parameters, the trial counts and the retrained config's metrics.

    (``output`` is unused since the best files moved to the study's own folder,
    ``result.best_config.output``; it stays for callers that pass it.)
    """
    best = result.best_config.output
    c = result.counts
    lines = [
        f"study {result.study_name!r} ({result.storage}): {c['complete']} complete, {c['pruned']} pruned, "
        f"{c['fail']} failed; {result.seconds:.1f}s this run, {result.trial_seconds:.1f}s in finished trials",
        f"best trial {result.best_trial}: valid {result.metric} = {result.best_value:.4f}"
        + ("" if not result.valid_seeds else f" (mean over validation seeds {', '.join(map(str, result.valid_seeds))})"),
        "best params:",
        *(f"  {k}: {v}" for k, v in result.best_params.items()),
        f"full config -> {best}/best.yaml",
    ]
    if result.retrained:
        r = result.retrained
        keys = [k for k in r["test"] if k != "num_users"]
        lines.append(f"retrained best config (best epoch {r['best_epoch']}) -> {r['run_dir']}; metrics in {best}/best_metrics.json")
        lines.append(f"  {'metric':<12} {'valid':>8} {'test':>8}")
        lines += [f"  {k:<12} {r['valid'].get(k, float('nan')):>8.4f} {r['test'][k]:>8.4f}" for k in keys]
    return "\n".join(lines)
