"""Command line: ``autograph-rec <command>``. Thin: parses, builds a config, calls the pipeline."""

from __future__ import annotations

import argparse
import logging
import sys

from .config import ConfigError, RunConfig

MODELS = ("mf", "lightgcn", "ngcf", "sgl", "simgcl")
DATASETS = ("ml-100k", "ml-1m", "ml-1m-subset", "rlmrec-amazon", "rlmrec-yelp", "csv")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograph-rec", description="Graph-based, LLM-enhanced recommendation.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train and evaluate a backbone (full ranking, validation-selected)")
    train.add_argument("--dataset", choices=DATASETS, help="dataset name (default: ml-100k)")
    train.add_argument("--model", choices=MODELS, help="backbone (default: lightgcn)")
    train.add_argument("--config", help="YAML file with any RunConfig fields")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value, e.g. --set train.lr=0.01 (repeatable)")
    train.add_argument("--data-dir", help="folder holding the dataset folders (else $AUTOGRAPH_REC_DATA)")
    train.add_argument("--data-path", help="interactions file for --dataset csv")
    train.add_argument("--device", help="cpu, cuda, cuda:N or auto")
    train.add_argument("--seed", type=int, help="seed for split, init and sampling")
    train.add_argument("--epochs", type=int, help="maximum epochs")
    train.add_argument("--output", required=True, help="run directory for config.yaml, metrics.json, model.pt")
    train.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser


def build_config(args: argparse.Namespace) -> RunConfig:
    """Defaults < ``--config`` file < dedicated flags < ``--set`` overrides."""
    config = RunConfig.from_yaml(args.config) if args.config else RunConfig()
    flags = []
    if args.dataset:
        flags.append(f"data.name={args.dataset}")
    if args.model:
        flags.append(f"model.name={args.model}")
    if args.data_dir:
        flags.append(f"data.data_dir={args.data_dir}")
    if args.data_path:
        flags.append(f"data.path={args.data_path}")
    if args.device:
        flags.append(f"train.device={args.device}")
    if args.seed is not None:
        flags += [f"train.seed={args.seed}", f"data.seed={args.seed}"]
    if args.epochs is not None:
        flags.append(f"train.epochs={args.epochs}")
    flags.append(f"output={args.output}")
    return config.with_overrides(flags + list(args.overrides))


def format_table(result) -> str:
    """Validation and test metrics side by side."""
    keys = list(result.test)
    width = max(len(k) for k in keys)
    lines = [f"{'metric':<{width}}  {'valid':>8}  {'test':>8}", "-" * (width + 20)]
    for key in keys:
        if key == "num_users":
            continue
        lines.append(f"{key:<{width}}  {result.valid.get(key, float('nan')):>8.4f}  {result.test[key]:>8.4f}")
    lines.append(f"best epoch {result.best_epoch} of {result.epochs_run}; {result.seconds:.1f}s "
                 f"({result.seconds_per_epoch:.3f}s/epoch, {result.seconds_per_eval:.3f}s/eval)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = build_config(args)
    except ConfigError as exc:
        print(f"autograph-rec: config error: {exc}", file=sys.stderr)
        return 2
    from .data import DataError, MissingDataError
    from .pipeline import run_training

    try:
        if args.command == "train":
            result = run_training(config, progress=not args.no_progress)
            print(f"{config.model.name} on {config.data.name} -> {config.output}")
            print(format_table(result))
    except (DataError, MissingDataError, ConfigError) as exc:
        print(f"autograph-rec: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
