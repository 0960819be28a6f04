"""RLMRec's protocol on its own Amazon-book / Yelp splits, for our backbones.

Protocol (RLMRec, WWW 2024): their random 3:1:1 split, embedding dim 32, Adam lr 1e-3, batch
4096, one uniform negative per positive, validation Recall@20 every 3 epochs, stop after 5
checks without improvement, full ranking over all items with training items masked (validation
items also masked at test time). LightGCN uses RLMRec's published variant: sum of layers 0..L,
edge dropout keep 0.8 during training, L2 over the whole embedding tables.

    python scripts/bench_rlmrec.py --dataset rlmrec-amazon --models mf lightgcn ngcf sgl simgcl
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import header, mean_std, write_result  # noqa: E402

from autograph_rec.config import RunConfig  # noqa: E402
from autograph_rec.pipeline import run_training  # noqa: E402

PUBLISHED = {  # RLMRec Table 1, LightGCN, test Recall@20 / NDCG@20
    "rlmrec-amazon": (0.1411, 0.0856),
    "rlmrec-yelp": (0.1157, 0.0733),
}

# Per-backbone settings on the same protocol (dim 32, lr 1e-3, batch 4096): LightGCN, SGL and
# SimGCL as configured in RLMRec's released configs for Amazon-book/Yelp (sum of layers 0..L,
# L2 over all parameters; SGL edge drop 0.2, SimGCL eps 0.9; InfoNCE weight 0.1, temperature
# 0.2); MF and NGCF with their papers' defaults.
MODEL_PARAMS = {
    "mf": {"train.reg_weight": 1e-4},
    "lightgcn": {"model.params.layer_combination": "sum", "model.params.edge_dropout": 0.2,
                 "model.params.reg_scope": "all", "train.reg_weight": 1e-7},
    "ngcf": {"train.reg_weight": 1e-4},
    "sgl": {"model.params.layer_combination": "sum", "model.params.ssl_ratio": 0.2, "model.params.tau": 0.2,
            "model.params.ssl_lambda": 0.1, "model.params.reg_scope": "all", "train.reg_weight": 1e-5},
    "simgcl": {"model.params.layer_combination": "sum", "model.params.include_ego": "true", "model.params.eps": 0.9,
               "model.params.tau": 0.2, "model.params.ssl_lambda": 0.1, "model.params.reg_scope": "all",
               "train.reg_weight": 1e-5},
}


def config_for(dataset: str, model: str, seed: int, output: Path, epochs: int, data_dir: str | None) -> RunConfig:
    sets = [
        f"data.name={dataset}", "data.split=predefined", f"data.seed={seed}",
        f"model.name={model}", "model.embedding_dim=32", "model.num_layers=3",
        "train.lr=0.001", "train.batch_size=4096", "train.eval_every=3", "train.patience=5",
        "train.warmup_epochs=0", "train.metric=recall@20", f"train.seed={seed}", f"train.epochs={epochs}",
        "train.save_checkpoint=false", "train.num_threads=1", "eval.ks=[5,10,20]", "eval.metrics=[recall,ndcg]", f"output={output}",
    ]
    if data_dir:
        sets.append(f"data.data_dir={data_dir}")
    sets += [f"{k}={v}" for k, v in MODEL_PARAMS[model].items()]
    return RunConfig().with_overrides(sets)


# config fields that change speed or files written, never the metrics: a finished run that
# differs only in these is reused instead of retrained
NON_RESULT_FIELDS = {("train", "keep_freed_memory"), ("train", "num_threads"), ("train", "save_checkpoint")}


def finished_run(config: RunConfig, out: Path) -> dict | None:
    """The metrics of an earlier run in ``out`` with the same settings, else ``None``."""
    if not ((out / "metrics.json").exists() and (out / "config.yaml").exists()):
        return None
    import yaml

    def strip(d: dict) -> dict:
        return {sec: ({k: v for k, v in val.items() if (sec, k) not in NON_RESULT_FIELDS} if isinstance(val, dict) else val)
                for sec, val in d.items()}

    if strip(yaml.safe_load((out / "config.yaml").read_text())) != strip(config.to_dict()):
        return None
    return json.loads((out / "metrics.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="rlmrec-amazon", choices=sorted(PUBLISHED))
    parser.add_argument("--models", nargs="+", default=["lightgcn"], choices=sorted(MODEL_PARAMS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[2023])
    parser.add_argument("--epochs", type=int, default=1000, help="cap; early stopping normally ends first")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--runs", default="runs/bench_rlmrec")
    parser.add_argument("--set", dest="extra", nargs="*", default=[], metavar="KEY=VALUE",
                        help="extra config overrides for every model, e.g. model.params.ssl_lambda=0.01")
    parser.add_argument("--tag", default="", help="suffix of the result file name")
    args = parser.parse_args()

    rows, payload = [], {}
    for model in args.models:
        per_seed = []
        for seed in args.seeds:
            out = Path(args.runs) / args.dataset / f"{model}-seed{seed}"
            config = config_for(args.dataset, model, seed, out, args.epochs, args.data_dir).with_overrides(args.extra)
            old = finished_run(config, out)
            if old is not None:
                print(f"reusing the finished run in {out}", flush=True)
                per_seed.append(old)
                continue
            result = run_training(config, progress=False)
            per_seed.append(result.to_json())
            print(model, seed, json.dumps({"test": result.test, "best_epoch": result.best_epoch}), flush=True)
        payload[model] = per_seed
        r = [s["test"]["recall@20"] for s in per_seed]
        n = [s["test"]["ndcg@20"] for s in per_seed]
        vr = [s["valid"]["recall@20"] for s in per_seed]
        ep = [s["best_epoch"] for s in per_seed]
        spe = [s["seconds_per_epoch"] for s in per_seed]
        rows.append(f"| {model} | {mean_std(r)} | {mean_std(n)} | {mean_std(vr)} | {', '.join(map(str, ep))} | {sum(spe) / len(spe):.3f} |")
    pub = PUBLISHED[args.dataset]
    md = header(
        f"RLMRec protocol on {args.dataset}",
        f"- split: RLMRec's published 3:1:1 split (predefined); seeds {args.seeds}; best epoch on validation Recall@20\n"
        f"- published LightGCN (RLMRec Table 1): Recall@20 {pub[0]} / NDCG@20 {pub[1]}\n"
        f"- extra overrides: {args.extra or 'none'}\n"
        f"- peak RSS of the whole script: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB\n",
    )
    md += "\n| backbone | test Recall@20 | test NDCG@20 | valid Recall@20 | best epoch(s) | s/epoch |\n|---|---|---|---|---|---|\n"
    md += "\n".join(rows) + "\n"
    print(md)
    write_result(f"rlmrec_{args.dataset.split('-')[1]}_{'_'.join(args.models)}{args.tag}", md, payload)


if __name__ == "__main__":
    main()
