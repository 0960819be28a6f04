"""Command line: ``autograph-rec <command>``. Thin: parses, builds a config, calls the pipeline.

Commands:
    train    train and evaluate a backbone on the user-item graph (no LLM)
    run      the whole AutoGraph method: profile → encode → quantize → graph → train → report
    profile  only the LLM profiling stage (cached, resumable)
    encode   profiling (cached) + the semantic vectors
    tune     Optuna search over a YAML space (pruning, shared/resumable study, best config retrained)
"""

from __future__ import annotations

import argparse
import logging
import sys

from .config import ConfigError, RunConfig

MODELS = ("mf", "lightgcn", "ngcf", "sgl", "simgcl")
DATASETS = ("ml-100k", "ml-1m", "ml-1m-subset", "rlmrec-amazon", "rlmrec-yelp", "csv")
LLMS = ("none", "smollm2", "openai", "transformers", "llamacpp", "fake")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=DATASETS, help="dataset name (default: ml-100k)")
    p.add_argument("--config", help="YAML file with any RunConfig fields")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.lr=0.01 (repeatable)")
    p.add_argument("--data-dir", help="folder holding the dataset folders (else $AUTOGRAPH_REC_DATA)")
    p.add_argument("--data-path", help="interactions file for --dataset csv")
    p.add_argument("--seed", type=int, help="seed for split, init, sampling and quantizers")
    p.add_argument("--output", required=True, help="run directory (artifacts, config.yaml, metrics.json)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def _training(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=MODELS, help="backbone (default: lightgcn)")
    p.add_argument("--device", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--epochs", type=int, help="maximum epochs")


def _llm(p: argparse.ArgumentParser) -> None:
    p.add_argument("--llm", choices=LLMS, help="profiling LLM; 'none' = template-only text, no generation")
    p.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (--llm openai)")
    p.add_argument("--llm-model", help="model name on the server (--llm openai) or local path (--llm transformers, llamacpp)")
    p.add_argument("--limit", type=int, help="profile only the first N users and N items")
    p.add_argument("--encoder", choices=("minilm", "llm"), help="text encoder (default: minilm)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograph-rec", description="Graph-based, LLM-enhanced recommendation.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train and evaluate a backbone (full ranking, validation-selected)")
    _common(train)
    _training(train)

    run = sub.add_parser("run", help="AutoGraph end to end: profile, encode, quantize, graph, train, report")
    _common(run)
    _training(run)
    _llm(run)
    run.add_argument("--quantizer", choices=("rqvae", "rkmeans", "lsh", "hc"), help="latent-factor method (default: rqvae)")
    run.add_argument("--levels", type=int, help="code levels used as factor edges (default: 2)")
    run.add_argument("--aggregation", choices=("plain", "metapath_mean", "metapath_attention", "gat"),
                     help="how the backbone uses the augmented graph (default: plain)")
    run.add_argument("--vanilla", action="store_true", help="train the backbone without the augmented graph")

    for name, text in (("profile", "LLM profiles of all users and items (cached, resumable)"),
                       ("encode", "profiles (cached) and their semantic vectors")):
        p = sub.add_parser(name, help=text)
        _common(p)
        _llm(p)

    tune = sub.add_parser("tune", help="Optuna search over a YAML space; prints and retrains the best config")
    _common(tune)
    _training(tune)
    tune.add_argument("--space", required=True, help="search space YAML (see docs/hpo.md, configs/spaces/)")
    tune.add_argument("--n-trials", type=int, required=True, help="complete + pruned trials the study should reach (all workers)")
    tune.add_argument("--storage", help="database URL, e.g. postgresql://user@host/db (default: sqlite:///OUTPUT/study.db)")
    tune.add_argument("--study-name", default="autograph-rec", help="study to create, join or resume")
    tune.add_argument("--pruner", choices=("median", "hyperband", "none"), default="median", help="pruner (default: median)")
    tune.add_argument("--valid-seeds", type=int, nargs="+", metavar="SEED",
                      help="score each trial by its mean validation metric over these validation sets "
                           "(data.valid_seed: the test set stays data.seed's; default: the one validation set)")
    tune.add_argument("--no-retrain", action="store_true", help="skip retraining the best config (e.g. extra workers)")
    tune.add_argument("--heartbeat-interval", type=int, default=30, help="seconds between a trial's heartbeats")
    tune.add_argument("--grace-period", type=int, help="seconds without heartbeat before a trial is failed and retried")
    return parser


def build_config(args: argparse.Namespace) -> RunConfig:
    """Defaults < ``--config`` file < dedicated flags < ``--set`` overrides."""
    config = RunConfig.from_yaml(args.config) if args.config else RunConfig()
    flag_map = {
        "dataset": "data.name", "data_dir": "data.data_dir", "data_path": "data.path", "model": "model.name",
        "device": "train.device", "epochs": "train.epochs", "llm": "llm.backend", "base_url": "llm.base_url",
        "llm_model": "llm.model", "limit": "llm.limit", "encoder": "encode.encoder", "quantizer": "quantize.method",
        "levels": "autograph.levels", "aggregation": "autograph.aggregation",
    }
    # the flags' values as typed: not re-read as YAML (a '#' in a path started a comment, '010'
    # became 8, 'null' None); --set keeps YAML, where [5, 10] or true are the point
    flags = {key: getattr(args, attr) for attr, key in flag_map.items() if getattr(args, attr, None) is not None}
    if args.seed is not None:
        flags.update({"train.seed": args.seed, "data.seed": args.seed, "quantize.seed": args.seed})
    if args.command == "run":
        flags["autograph.enabled"] = not args.vanilla
    flags["output"] = args.output
    return config.with_values(flags).with_overrides(list(args.overrides))


def format_table(result) -> str:
    """Validation and test metrics side by side."""
    # the validation metrics name the rows: test ones are absent with train.evaluate_test=false
    keys = [k for k in {**result.valid, **result.test} if k != "num_users"]
    width = max([len(k) for k in keys] + [6])

    def cell(metrics: dict, key: str) -> str:
        return f"{metrics[key]:>8.4f}" if key in metrics else f"{'-':>8}"

    lines = [f"{'metric':<{width}}  {'valid':>8}  {'test':>8}", "-" * (width + 20)]
    for key in keys:
        lines.append(f"{key:<{width}}  {cell(result.valid, key)}  {cell(result.test, key)}")
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
    from .pipeline import AutoGraphPipeline, run_training

    progress = not args.no_progress
    if args.command == "tune":
        from .hpo.cli import run_tune

        return run_tune(args, config, progress)
    try:
        if args.command == "train":
            result = run_training(config, progress=progress)
        else:
            pipeline = AutoGraphPipeline(config, progress=progress)
            if args.command == "profile":
                texts = pipeline.profile()
                print(f"profiles: {len(texts['users'])} users, {len(texts['items'])} items -> {pipeline.run_dir / 'profiles'}")
                return 0
            if args.command == "encode":
                vectors = pipeline.encode()
                print(f"vectors: users {vectors['users'].shape}, items {vectors['items'].shape} -> {pipeline.run_dir / 'vectors'}")
                return 0
            if config.llm.backend == "none" and config.autograph.enabled:
                print("note: --llm none is the template-only variant (attribute and history text encoded directly, no LLM generation)")
            result = pipeline.run()
            print("stages: " + ", ".join(f"{k} ({v})" for k, v in pipeline.stage_log.items()))
        variant = "" if args.command == "train" or not config.autograph.enabled else f" + AutoGraph ({config.autograph.aggregation}, llm={config.llm.backend})"
        print(f"{config.model.name}{variant} on {config.data.name} -> {config.output}")
        print(format_table(result))
    except (DataError, MissingDataError, ConfigError, ValueError, FloatingPointError) as exc:
        # FloatingPointError: a diverging loss, with the trainer's advice (lower train.lr)
        print(f"autograph-rec: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
