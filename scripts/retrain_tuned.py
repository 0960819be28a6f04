"""Retrain the best configs of a finished tuned comparison with the current code, without searching.

A fix can change what a config trains to (e.g. SGL's contrastive views on the augmented graph
ignored the factor-edge weight until 2026-12-04). This takes the result file of
``bench_tuned_autograph.py`` — each study's space and best parameters — rebuilds every best
config exactly as its study did, retrains it on the given seeds and sets the new test numbers
beside the recorded ones. The studies' choices stay as they were: a study searched under the
current code could choose differently, so this measures the fix's effect on *those* configs,
not an equal-effort comparison.

    python scripts/retrain_tuned.py \\
        --result docs/results/tuned_autograph_ml-100k_mf_lightgcn_ngcf_sgl_simgcl_32trials.json \\
        --models sgl --seeds 0 1 2 --threads 1

Retrainings resume (``<runs>/<dataset>/<model>-<variant>/retrain-seedN.json``). Writes
docs/results/retrain_<result name><tag>.md/.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _bench import header, mean_std, pct_change, write_result  # noqa: E402


def best_config(study_args: SimpleNamespace, record: dict):
    """The ``RunConfig`` the study's best trial trained: as recorded (result files written since
    2026-12-04 keep it) with this run's host settings, else rebuilt from the study's base config and best parameters as the
    study built it (current defaults fill what neither sets)."""
    import optuna

    from autograph_rec.config import RunConfig
    from autograph_rec.hpo.space import parse_space
    from autograph_rec.hpo.suggest import suggest_config
    from bench_tuned_autograph import base_config

    base = base_config(study_args, record["model"], record["variant"])
    if record.get("best_config"):
        # as recorded, with this run's machine settings (threads, data folder, caches)
        return RunConfig.from_dict(record["best_config"]).with_host_settings(base, keep=record["best_params"])
    return suggest_config(optuna.trial.FixedTrial(record["best_params"]), parse_space(record["space"]), base)


def table(rows: list[dict]) -> str:
    lines = ["| backbone | variant | best params (from the study) | test NDCG@20 recorded | test NDCG@20 now "
             "| ΔNDCG@20 vs vanilla recorded | now |", "|---|---|---|---|---|---|---|"]
    by_key = {(r["model"], r["variant"]): r for r in rows}
    for r in rows:
        base = by_key.get((r["model"], "vanilla"))
        deltas = ["", ""]
        if base and r["variant"] != "vanilla":
            deltas = [pct_change(r[when], base[when]) for when in ("recorded", "now")]
        params = ", ".join(f"{k.split('.')[-1]}={v:.3g}" if isinstance(v, float) else f"{k.split('.')[-1]}={v}"
                           for k, v in r["best_params"].items())
        lines.append(f"| {r['model']} | {r['variant']} | {params} | {mean_std(r['recorded'])} | {mean_std(r['now'])} "
                     f"| {deltas[0]} | {deltas[1]} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--result", required=True, help="a bench_tuned_autograph.py result .json")
    p.add_argument("--models", nargs="+", default=None, help="only these backbones (default: all in the file)")
    p.add_argument("--variants", nargs="+", default=None, help="only these variants (default: all in the file)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--runs", default="runs/retrain_tuned")
    p.add_argument("--tag", default="")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="overrides applied on top of every best config, e.g. autograph.view_factor_weight=1.0 "
                        "(an autograph.* key leaves the vanilla configs as they are); give a --tag with it")
    args = p.parse_args()

    import torch

    from bench_tuned_autograph import retrain

    torch.set_num_threads(args.threads)
    result_path = Path(args.result)
    result = json.loads(result_path.read_text())
    # the study's protocol (dim, epochs, dataset), this run's machine settings
    study_args = SimpleNamespace(**{**result["args"], "threads": args.threads, "data_dir": args.data_dir,
                                    "runs": args.runs, "llm_cache": result["args"].get("llm_cache"),
                                    "split_seed": result["args"].get("split_seed")})
    records = [r for r in result["records"]
               if (args.models is None or r["model"] in args.models)
               and (args.variants is None or r["variant"] in args.variants)]
    if not records:
        raise SystemExit(f"no record of {args.models or 'any model'} / {args.variants or 'any variant'} in {result_path}")
    rows = []
    for record in records:
        config = best_config(study_args, record)
        if args.set:
            config = config.with_overrides(args.set)
        out = Path(args.runs) / study_args.dataset / f"{record['model']}-{record['variant']}{args.tag}"
        out.mkdir(parents=True, exist_ok=True)
        # the study's retraining protocol: each seed on its own split, or every seed on --split-seed's
        retrained = [retrain(config, seed, out, study_args.split_seed) for seed in args.seeds]
        recorded = {x["seed"]: x["test"]["ndcg@20"] for x in record["retrained"]}
        missing = [s for s in args.seeds if s not in recorded]
        if missing:
            raise SystemExit(f"{result_path} has no recorded retraining of seed(s) {missing} for "
                             f"{record['model']} / {record['variant']}")
        rows.append({"model": record["model"], "variant": record["variant"], "best_params": record["best_params"],
                     "recorded": [recorded[s] for s in args.seeds],
                     "now": [x["test"]["ndcg@20"] for x in retrained], "retrained": retrained})
    md = header(f"Tuned best configs retrained with the current code ({result_path.name})",
                f"- seeds: {args.seeds} "
                + ("(split, initialisation, sampling, quantizer)" if study_args.split_seed is None
                   else f"(initialisation, sampling, quantizer; split {study_args.split_seed} for all)")
                + f"; threads {args.threads}\n"
                + (f"- on top of each best config: `{' '.join(args.set)}`\n" if args.set else "")
                + "- the studies are not rerun: each row is its study's best config, test NDCG@20 as "
                "recorded in the result file and as retrained now, mean ± std over the seeds\n")
    md += "\n" + table(rows) + "\n"
    path = write_result(f"retrain_{result_path.stem}{args.tag}", md,
                        {"args": vars(args), "source": str(result_path), "rows": rows})
    print(md)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
