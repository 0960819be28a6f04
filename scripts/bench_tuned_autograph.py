"""Vanilla vs +AutoGraph with EQUAL TUNING EFFORT: one Optuna study of N trials per backbone and
variant, the best config retrained on three seeds.

`bench_autograph.py` trains every variant with one fixed config; that config (lr 5e-3, reg 1e-4,
3 layers) was never tuned for either side. Here each (backbone, variant) gets its own study with
the same number of trials, the same seeded TPE sampler, the same pruner and the same epoch cap;
the AutoGraph study searches the backbone's space plus the AutoGraph knobs (factor-edge weight,
levels used), so its space is larger and its per-trial coverage lower — equal effort is counted
in trials, not in how favourable the space is. The objective is validation NDCG@20 on split seed
0; the test set is read only when the study's best config is retrained on seeds 0, 1 and 2
(split, initialisation, sampling and quantizer seed together), reported as mean ± std.

    python scripts/bench_tuned_autograph.py --dataset ml-100k --models mf lightgcn ngcf sgl simgcl \\
        --n-trials 16 --seeds 0 1 2 --threads 1

Studies (``runs/bench_tuned_autograph/<dataset>/<model>-<variant>/study.db``) and retrainings
resume where they stopped. ``--jobs 2`` runs two (backbone, variant) studies at a time as separate
processes (each at ``--threads``; log in the study folder's ``bench.log``) and then assembles the
table here. Writes docs/results/tuned_autograph_<dataset>_<models><tag>.md/.json.

``--variants vanilla none smollm2`` adds +AutoGraph with SmolLM2 profiles. Every AutoGraph
variant builds its profiles, vectors and codes for all retraining seeds before its search, so
"search s" counts training only (SmolLM2 profiling takes hours on a CPU; its responses are cached
in ``--llm-cache`` and an interrupted run resumes).

``--valid-seeds 0 1 2`` scores every trial by its mean validation NDCG@20 over that many validation
sets of split 0 (``data.valid_seed``: split 0's test set fixed, the rest re-divided; studies
``<model>-<variant>-valid0-1-2``), and ``--split-seed 0`` retrains the best configs on split 0 for
every seed (seeds then vary initialisation, sampling and quantizer only). Together they keep every
interaction the search validated on out of every test set: with the default protocol a retraining
on split seed 1 is tested on split 1's test set, about a tenth of which was in split 0's validation
set, for both variants alike.

``--space ssl`` (SGL and SimGCL only) also tunes their contrastive weight (``model.params.ssl_lambda``)
and temperature (``model.params.tau``) and lets lr go down to 1e-4, for both variants, in separate
studies (``<model>-<variant>-ssl``); pass a ``--tag`` so its result file is separate too.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _bench import header, mean_std, pct_change, protocol_overrides, write_result  # noqa: E402

COMMON = {  # every backbone, both variants
    "train.lr": {"type": "float", "low": 1.0e-3, "high": 3.0e-2, "log": True},
    "train.reg_weight": {"type": "float", "low": 1.0e-6, "high": 1.0e-2, "log": True},
}
LAYERS = {"model.num_layers": {"type": "int", "low": 1, "high": 4}}  # graph backbones only
AUTOGRAPH = {  # added for the +AutoGraph variant
    "autograph.factor_weight": {"type": "float", "low": 0.05, "high": 2.0, "log": True},
    "autograph.levels": {"type": "int", "low": 1, "high": 3},
}

SSL = {  # --space ssl, SGL and SimGCL only: their contrastive weight and temperature, and a lower lr
    # (the shared space's best SGL configs sat at its lower lr edge, 1e-3, on the ML-1M subset)
    "train.lr": {"type": "float", "low": 1.0e-4, "high": 3.0e-2, "log": True},
    "model.params.ssl_lambda": {"type": "float", "low": 0.01, "high": 1.0, "log": True},
    "model.params.tau": {"type": "float", "low": 0.05, "high": 1.0, "log": True},
}
SSL_MODELS = ("sgl", "simgcl")


def space_for(model: str, variant: str, space: str = "shared") -> dict:
    params = dict(COMMON)
    if model != "mf":
        params |= LAYERS
    if variant != "vanilla":
        params |= AUTOGRAPH
    if space == "ssl":
        params |= SSL
    return {"metric": "ndcg@20", "params": params}


def base_config(args, model: str, variant: str):
    from autograph_rec.config import RunConfig

    sets = protocol_overrides(args.dataset, model, seed=0, dim=args.dim, epochs=args.epochs, threads=args.threads,
                              data_dir=args.data_dir) + ["train.device=cpu"]
    if variant != "vanilla":
        sets += ["autograph.enabled=true", f"llm.backend={variant}"]
    if variant == "smollm2":
        sets.append(f"llm.cache={llm_cache(args)}")
    return RunConfig().with_overrides(sets)


def llm_cache(args) -> Path:
    """The SmolLM2 response cache: ``--llm-cache``, else one file next to the dataset's studies, so
    an interrupted profiling resumes from the same folder as the studies."""
    return Path(args.llm_cache) if args.llm_cache else (Path(args.runs) / args.dataset / "llm_responses.sqlite").resolve()


def with_seed(config, seed: int, output: Path, split: int | None = None):
    """``config`` on ``seed`` (initialisation, sampling, quantizer; and the split unless ``split``
    fixes it), writing to ``output``."""
    return replace(config, data=replace(config.data, seed=seed if split is None else split),
                   train=replace(config.train, seed=seed), quantize=replace(config.quantize, seed=seed),
                   output=str(output))


def prepare_stages(args, model: str, variant: str, shared: Path) -> None:
    """Build the profiles, vectors and codes of every retraining seed (and of every
    ``--valid-seeds`` training set, whose histories differ) before the search.

    A trial would otherwise build them inside its own time: for ``smollm2`` that is hours of LLM
    calls, which would land in the first trial's duration and in "search s". Built here (once per
    dataset: the stage folder is shared by every backbone), the studies' times count training only;
    the stage manifests under ``<runs>/<dataset>/stages/`` keep what building took."""
    if variant == "vanilla":
        return
    import time

    import torch

    from autograph_rec.hpo.objective import stage_lock
    from autograph_rec.pipeline import AutoGraphPipeline

    torch.set_num_threads(args.threads)  # the LLM and the encoder run here, before the trainer sets it
    base = base_config(args, model, variant)
    folder = study_dir(args, model, variant)
    configs = {f"seed {seed}": with_seed(base, seed, folder / f"prepare-seed{seed}", args.split_seed)
               for seed in args.seeds}
    for v in args.valid_seeds or ():
        configs[f"validation seed {v}"] = replace(base, data=replace(base.data, valid_seed=v),
                                                  output=str(folder / f"prepare-valid{v}"))
    for name, config in configs.items():
        start = time.perf_counter()
        pipeline = AutoGraphPipeline(config, progress=True, stage_root=shared)
        with stage_lock(shared):
            pipeline.quantize()
        print(f"stages of {name}: {pipeline.stage_log} in {time.perf_counter() - start:.0f} s", flush=True)


def retrain(best, seed: int, out: Path, split: int | None = None) -> dict:
    """Train the study's best config on ``seed`` (init, sampling, quantizer; the split too unless
    ``split`` fixes it) with test."""
    from autograph_rec.hpo.objective import run_config

    name = f"retrain-seed{seed}" + ("" if split is None else f"-split{split}")
    cfg = with_seed(best, seed, out / name, split)
    done = out / f"{name}.json"
    if done.is_file():  # resumable: reuse only a retraining of exactly this config (wherever it was written)
        rec = json.loads(done.read_text())
        if {**rec["config"], "output": None} == {**cfg.to_dict(), "output": None}:
            print(f"reusing {done}", flush=True)
            return rec["row"]
    train, _ = run_config(cfg, out / "stages")
    row = {"seed": seed, "valid": train.valid, "test": train.test, "best_epoch": train.best_epoch,
           "epochs_run": train.epochs_run, "seconds": train.seconds}
    done.write_text(json.dumps({"config": cfg.to_dict(), "row": row}, indent=2, default=str))
    print(json.dumps({"seed": seed, "test": train.test}), flush=True)
    return row


def study_name(args, model: str, variant: str) -> str:
    """``<backbone>-<variant>``, with ``-ssl`` for the SSL space and ``-valid<seeds>`` for
    ``--valid-seeds`` (each its own study, trials and retrainings)."""
    return (f"{model}-{variant}" + ("-ssl" if args.space == "ssl" else "")
            + (f"-valid{'-'.join(map(str, args.valid_seeds))}" if args.valid_seeds else ""))


def study_dir(args, model: str, variant: str) -> Path:
    """Where one (backbone, variant) keeps its study, trials, retrainings and ``--jobs`` log."""
    return Path(args.runs) / args.dataset / study_name(args, model, variant)


def run_variant(args, model: str, variant: str) -> dict:
    from autograph_rec.hpo import tune
    from autograph_rec.hpo.space import parse_space

    out = study_dir(args, model, variant)
    # Profiles, vectors and codes do not depend on the backbone: every study of the dataset shares
    # one stage folder (its lock serialises concurrent builders), so each is built once.
    shared = (Path(args.runs) / args.dataset / "stages").resolve()
    shared.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "stages").exists():
        (out / "stages").symlink_to(shared, target_is_directory=True)
    prepare_stages(args, model, variant, shared)
    space = space_for(model, variant, args.space)
    result = tune(parse_space(space), base_config(args, model, variant), out, n_trials=args.n_trials,
                  pruner=args.pruner, seed=args.sampler_seed, study_name=study_name(args, model, variant), retrain=False,
                  valid_seeds=args.valid_seeds)
    rows = [retrain(result.best_config, seed, out, args.split_seed) for seed in args.seeds]
    return {"model": model, "variant": variant, "space": space, "counts": result.counts,
            "search_seconds": result.trial_seconds, "search_span": result.trial_span,
            "best_trial": result.best_trial, "best_valid": result.best_value, "best_params": result.best_params,
            # the exact config the best trial trained (retrain_tuned.py rebuilds it from this when present)
            "best_config": {**result.best_config.to_dict(), "output": None}, "retrained": rows}


def child_argv(args, model: str, variant: str) -> list[str]:
    """This script's command line for one (backbone, variant), searching and retraining only."""
    argv = [sys.executable, __file__, "--dataset", args.dataset, "--models", model, "--variants", variant,
            "--n-trials", str(args.n_trials), "--pruner", args.pruner, "--sampler-seed", str(args.sampler_seed),
            "--seeds", *map(str, args.seeds), "--epochs", str(args.epochs), "--dim", str(args.dim),
            "--threads", str(args.threads), "--runs", args.runs, "--space", args.space, "--search-only"]
    return (argv + (["--data-dir", args.data_dir] if args.data_dir else [])
            + (["--llm-cache", args.llm_cache] if args.llm_cache else [])
            + (["--valid-seeds", *map(str, args.valid_seeds)] if args.valid_seeds else [])
            + (["--split-seed", str(args.split_seed)] if args.split_seed is not None else []))


def run_in_parallel(args) -> None:
    """Run every (backbone, variant) study and its retrainings in its own process, ``args.jobs`` at
    a time; the caller then reloads the finished studies and retrainings."""
    pairs = [(m, v) for m in args.models for v in args.variants]

    def run(pair: tuple[str, str]) -> tuple[str, int, Path]:
        folder = study_dir(args, *pair)
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / "bench.log"
        print(f"started {folder.name} (log {log})", flush=True)
        with log.open("a") as out:
            code = subprocess.run(child_argv(args, *pair), stdout=out, stderr=subprocess.STDOUT).returncode
        print(f"finished {folder.name}: exit {code}", flush=True)
        return folder.name, code, log

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        failed = [(name, code, log) for name, code, log in pool.map(run, pairs) if code != 0]
    if failed:
        raise SystemExit("failed: " + "; ".join(f"{n} exited {c}, see {log}" for n, c, log in failed))


def span(record: dict) -> str:
    """When a study's trials ran (the header's date is when this file was assembled)."""
    if not record.get("search_span"):
        return "(no finished trial)"
    start, end = (t.replace("T", " ")[:16] for t in record["search_span"])
    return f"{start} – {end[11:] if end[:10] == start[:10] else end} (storage clock)"


def table(records: list[dict], objective: str = "seed 0") -> str:
    lines = [f"| backbone | variant | trials (complete / pruned) | search s (summed trials) | best valid NDCG@20 ({objective}) "
             "| test Recall@20 | test NDCG@20 | ΔNDCG@20 vs tuned vanilla | best params |",
             "|---|---|---|---|---|---|---|---|---|"]
    by_key = {(r["model"], r["variant"]): r for r in records}
    for r in records:
        ndcg = [x["test"]["ndcg@20"] for x in r["retrained"]]
        delta = ""
        base = by_key.get((r["model"], "vanilla"))
        if base and r["variant"] != "vanilla":
            delta = pct_change(ndcg, [x["test"]["ndcg@20"] for x in base["retrained"]])
        params = ", ".join(f"{k.split('.')[-1]}={v:.3g}" if isinstance(v, float) else f"{k.split('.')[-1]}={v}"
                           for k, v in r["best_params"].items())
        c = r["counts"]
        lines.append(f"| {r['model']} | {'+AutoGraph (' + r['variant'] + ')' if r['variant'] != 'vanilla' else 'vanilla'} | "
                     f"{c['complete']} / {c['pruned']} | {r['search_seconds']:.0f} | {r['best_valid']:.4f} | "
                     f"{mean_std([x['test']['recall@20'] for x in r['retrained']])} | {mean_std(ndcg)} | {delta} | {params} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="ml-100k")
    p.add_argument("--models", nargs="+", default=["lightgcn"])
    p.add_argument("--variants", nargs="+", default=["vanilla", "none"], choices=["vanilla", "none", "smollm2"],
                   help="smollm2 profiles every user and item with the bundled SmolLM2 before its search "
                   "(hours on a CPU; cached in --llm-cache and resumable)")
    p.add_argument("--llm-cache", default=None,
                   help="SmolLM2 response cache (default: <runs>/<dataset>/llm_responses.sqlite)")
    p.add_argument("--n-trials", type=int, default=16, help="complete + pruned trials per study (equal for all)")
    p.add_argument("--pruner", default="median", choices=["median", "hyperband", "none"])
    p.add_argument("--sampler-seed", type=int, default=0)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="seeds the best config is retrained on")
    p.add_argument("--valid-seeds", nargs="+", type=int, default=None,
                   help="objective: mean validation NDCG@20 over these validation sets of split 0 (data.valid_seed)")
    p.add_argument("--split-seed", type=int, default=None,
                   help="retrain every seed on this split (seeds then vary init, sampling, quantizer only)")
    p.add_argument("--epochs", type=int, default=300, help="epoch cap per trial and retraining")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--runs", default="runs/bench_tuned_autograph")
    p.add_argument("--tag", default="", help="suffix of the result file name")
    p.add_argument("--space", default="shared", choices=["shared", "ssl"],
                   help="ssl (SGL/SimGCL only): also tune model.params.ssl_lambda and tau, lr from 1e-4; "
                   "both variants get it, in their own studies (<backbone>-<variant>-ssl)")
    p.add_argument("--jobs", type=int, default=1, help="(backbone, variant) studies run at once, one process each")
    p.add_argument("--search-only", action="store_true", help="search and retrain, write no result file "
                   "(what each --jobs process runs)")
    args = p.parse_args()
    if args.jobs < 1:
        p.error(f"--jobs must be at least 1, got {args.jobs}")
    if args.space == "ssl" and set(args.models) - set(SSL_MODELS):
        p.error(f"--space ssl tunes the contrastive backbones {list(SSL_MODELS)} only, got --models {args.models}")
    if args.jobs > 1:
        run_in_parallel(args)

    records = [run_variant(args, model, variant) for model in args.models for variant in args.variants]
    md = header(
        f"Equal tuning effort on {args.dataset}: vanilla vs +AutoGraph",
        f"- tuning: one Optuna study per backbone and variant, {args.n_trials} trials each, TPE seed "
        f"{args.sampler_seed}, pruner {args.pruner}, ≤ {args.epochs} epochs, validation every 5, warm-up 20, patience 5; "
        f"objective validation NDCG@20 (best epoch chosen on it) on split seed 0"
        + (f", mean over validation seeds {args.valid_seeds} (data.valid_seed; split 0's test set fixed)"
           if args.valid_seeds else "") + "\n"
        f"- spaces: every backbone {sorted(COMMON)}; graph backbones also {sorted(LAYERS)}; +AutoGraph also "
        f"{sorted(AUTOGRAPH)}" + (f"; --space ssl: also {sorted(SSL)} (lr from 1e-4)" if args.space == "ssl" else "")
        + f" (ranges in the JSON and the script); dim {args.dim}, batch 4096, Adam\n"
        f"- test: best config retrained on seeds {args.seeds} "
        + ("(split, init, sampling, quantizer)" if args.split_seed is None
           else f"(init, sampling, quantizer; split {args.split_seed} for all)") + ", mean ± std; "
        f"random per-user 80/10/10; AutoGraph = RQ-VAE codes of MiniLM vectors, plain aggregation; `none` = "
        f"template-only text (no generation); `smollm2` = profiles by the bundled SmolLM2-135M, built before "
        f"the search (not in search s)\n- torch threads {args.threads}\n"
        + "".join(f"- study {r['model']}-{r['variant']} searched {span(r)}\n" for r in records),
    )
    objective = f"split 0, mean of validation seeds {args.valid_seeds}" if args.valid_seeds else "seed 0"
    md += "\n" + table(records, objective) + "\n"
    print(md)
    if args.search_only:
        return
    write_result(f"tuned_autograph_{args.dataset}_{'_'.join(args.models)}{args.tag}", md,
                 {"args": vars(args), "records": records})


if __name__ == "__main__":
    main()
