"""Vanilla backbone vs +AutoGraph, and the paper's ablations (Tables 4-6), on real data.

Every variant gets the same training budget and settings (equal tuning effort); the best epoch
is chosen on validation Recall@20 and test metrics are reported once. Random per-user 80/10/10
split; seeds vary split, initialisation, sampling and quantizer together, unless
``--split-seed N`` fixes the split (then seeds vary initialisation, sampling and quantizer only:
SmolLM2 profiles of users depend on the split's training histories, and profiling a new ML-1M
split costs hours on CPU).

    # main table: backbones x {vanilla, +AutoGraph(--llm none), +AutoGraph(--llm smollm2)}
    python scripts/bench_autograph.py --dataset ml-100k --models mf lightgcn ngcf sgl simgcl \\
        --variants vanilla none smollm2 --seeds 0 1 2
    # ablations on LightGCN (paper Tables 4, 5, 6) and aggregation variants
    python scripts/bench_autograph.py --dataset ml-100k --models lightgcn --ablations --seeds 0 1 2

Profiles are cached (SQLite) and shared by all runs; SmolLM2 profiling of a whole dataset is
long on CPU: fill the cache first (resumable), e.g. with `scripts/bench_profiling.py --users 943
--items 1682`, and pass it with `--llm-cache runs/bench_profiling/llm_responses.sqlite`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import code_version, header, mean_std, pct_change, protocol_overrides, write_result  # noqa: E402

from autograph_rec.artifacts import stable_hash  # noqa: E402
from autograph_rec.config import RunConfig  # noqa: E402
from autograph_rec.pipeline import AutoGraphPipeline, run_training  # noqa: E402
from autograph_rec.profiling.quality import CHECKS_VERSION  # noqa: E402

ABLATIONS = {  # name -> overrides on top of +AutoGraph(--llm none)
    "all paths": [],
    "w/o u→q→u": ["autograph.paths=[iqi,ui]"],
    "w/o i→q→i": ["autograph.paths=[uqu,ui]"],
    "w/o u→i & i→u": ["autograph.paths=[uqu,iqi]"],
    "quantizer rkmeans": ["quantize.method=rkmeans"],
    "quantizer lsh": ["quantize.method=lsh", "quantize.user_codebook_size=64", "quantize.item_codebook_size=128"],
    "quantizer hc": ["quantize.method=hc"],
    "levels 1": ["autograph.levels=1"],
    "levels 3": ["autograph.levels=3"],
    "aggregation plain": ["autograph.aggregation=plain"],
    "aggregation metapath_mean": ["autograph.aggregation=metapath_mean"],
    "aggregation metapath_attention": ["autograph.aggregation=metapath_attention"],
    "aggregation gat": ["autograph.aggregation=gat"],
}


def split_seed(args, seed: int) -> int:
    """The split a run with ``seed`` uses: ``--split-seed`` when given, else ``seed`` itself."""
    return seed if args.split_seed is None else args.split_seed


def base_overrides(args, model: str, seed: int, out: Path) -> list[str]:
    sets = protocol_overrides(args.dataset, model, seed=seed, dim=args.dim, epochs=args.epochs,
                              threads=args.threads, data_dir=args.data_dir) + [f"train.lr={args.lr}", f"output={out}"]
    # replaced in place (not appended), so a run whose split equals its seed keeps the resume key it
    # has without --split-seed and is shared with the ordinary runs
    return [f"data.seed={split_seed(args, seed)}" if s.startswith("data.seed=") else s for s in sets]


def setting_overrides(args, variant: str) -> list[str]:
    """The command-line settings an AutoGraph run adds to its backbone and seed: ``--autograph-set``
    and, for ``smollm2``, the response cache it reads. Vanilla runs use neither."""
    if variant == "vanilla":
        return []
    sets = list(args.autograph_set)
    if variant == "smollm2" and args.llm_cache:
        sets.append(f"llm.cache={args.llm_cache}")
    return sets


def run_folder(args, model: str, variant: str, seed: int) -> Path:
    """Where one run keeps its stage artifacts.

    Runs that differ only in their :func:`setting_overrides` (e.g. two factor weights, or two
    SmolLM2 response caches) get distinct folders via a short hash of those overrides, so two such
    benchmarks can run side by side without overwriting each other's profiles, codes and graphs.
    """
    name = f"{model}-{variant.replace(' ', '_').replace('/', '')}-seed{seed}"
    if split_seed(args, seed) != seed:  # another split: other profiles and stages, another folder
        name += f"-split{split_seed(args, seed)}"
    sets = setting_overrides(args, variant)
    if sets:
        name += "-" + stable_hash(sorted(sets))[:8]
    return Path(args.runs) / args.dataset / name


def settings_key(sets: list[str]) -> str:
    """Resume key of a run: the whole config its overrides resolve to, without ``output`` (where a
    run was stored never decides whether its finished row is reused). Resolved, not as typed: a
    changed default (say ``autograph.view_factor_weight``) changes the key, so a row trained under
    the old default is not reused as a current one."""
    config = RunConfig().with_overrides(sets).to_dict()
    config.pop("output", None)
    return json.dumps(config, sort_keys=True, default=str)


def resume_key(sets: list[str], variant: str) -> str:
    """:func:`settings_key`, plus the profile quality checks' version for ``smollm2``: its text
    depends on them (a rejected reply is retried, then replaced by the template-only text), so a
    row made under older checks is not reused. (Code changes that keep the config are not seen:
    rows record the commit they ran on, and a new ``--runs`` folder starts afresh.)"""
    key = json.loads(settings_key(sets))
    if variant == "smollm2":
        key["#profiling.checks"] = CHECKS_VERSION
    return json.dumps(key, sort_keys=True)


def run_one(args, model: str, variant: str, seed: int, extra: list[str]) -> dict:
    out = run_folder(args, model, variant, seed)
    sets = base_overrides(args, model, seed, out) + extra
    if variant != "vanilla":
        llm = "smollm2" if variant == "smollm2" else "none"
        sets += ["autograph.enabled=true", f"llm.backend={llm}", *setting_overrides(args, variant)]
    # A finished run is kept as one JSON line keyed by its exact settings, so a killed
    # benchmark restarts where it stopped and a changed setting never reuses a stale row. The file
    # is re-read before every run, so a second process working on other seeds of the same command
    # hands its finished rows to the first one instead of both training them.
    done_file = Path(args.runs) / args.dataset / "rows.jsonl"
    key = resume_key(sets, variant)
    if done_file.exists():
        for line in done_file.read_text().splitlines():
            rec = json.loads(line)
            if rec["key"] == key:
                print(f"reusing finished run {out}", flush=True)
                # the row may have been stored under another label with the same config ("all
                # paths" is the plain "none" run): it answers to the label asked for
                return {**rec["row"], "variant": variant, "seed": seed}
    if variant == "vanilla":
        result = run_training(RunConfig().with_overrides(sets), progress=False)
    else:
        # each run builds its stages in its own folder; LLM responses and sentence vectors come from
        # the shared caches ($AUTOGRAPH_REC_CACHE, --llm-cache), so a run repeats only the quantizer and training
        result = AutoGraphPipeline(RunConfig().with_overrides(sets), progress=False).run()
    row = {"model": model, "variant": variant, "seed": seed, **result.to_json(), "commit": code_version()}
    done_file.parent.mkdir(parents=True, exist_ok=True)
    with done_file.open("a") as f:
        f.write(json.dumps({"key": key, "row": row}, default=str) + "\n")
    print(json.dumps({k: row[k] for k in ("model", "variant", "seed", "best_epoch")} | {"test": result.test}), flush=True)
    return row


def table(rows: list[dict], group_keys: tuple[str, str]) -> str:
    out = ["| backbone | variant | test Recall@20 | test NDCG@20 | ΔNDCG@20 vs vanilla | valid Recall@20 | best epochs |",
           "|---|---|---|---|---|---|---|"]
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["model"], r["variant"]), []).append(r)
    for (model, variant), rs in groups.items():
        ndcg = [r["test"]["ndcg@20"] for r in rs]
        base = groups.get((model, "vanilla"))
        delta = ""
        if base and variant != "vanilla":
            delta = pct_change(ndcg, [r["test"]["ndcg@20"] for r in base])
        out.append(f"| {model} | {variant} | {mean_std([r['test']['recall@20'] for r in rs])} | {mean_std(ndcg)} | {delta} | "
                   f"{mean_std([r['valid']['recall@20'] for r in rs])} | {', '.join(str(r['best_epoch']) for r in rs)} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--models", nargs="+", default=["lightgcn"])
    parser.add_argument("--variants", nargs="+", default=["vanilla", "none"], choices=["vanilla", "none", "smollm2"])
    parser.add_argument("--ablations", action="store_true", help="LightGCN ablations instead of the main table")
    parser.add_argument("--autograph-set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="extra overrides for the +AutoGraph variants, e.g. autograph.aggregation=plain")
    parser.add_argument("--llm-cache", default=None,
                        help="SQLite response cache for the smollm2 variant, e.g. the one scripts/bench_profiling.py filled")
    parser.add_argument("--tag", default="", help="suffix of the result file name")
    parser.add_argument("--only", nargs="+", default=None, help="run only these ablation names (default: all)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--split-seed", type=int, default=None,
                        help="one split for every seed (seeds then vary initialisation, sampling and quantizer); "
                             "default: each seed its own split")
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--runs", default="runs/bench_autograph")
    args = parser.parse_args()

    rows = []
    if args.ablations:
        for seed in args.seeds:
            rows.append(run_one(args, args.models[0], "vanilla", seed, []))
            for name, extra in ABLATIONS.items():
                if args.only and name not in args.only:
                    continue
                rows.append(run_one(args, args.models[0], name, seed, extra))
    else:
        for model in args.models:
            for seed in args.seeds:
                for variant in args.variants:
                    rows.append(run_one(args, model, variant, seed, []))
    kind = "ablations" if args.ablations else "main"
    if args.autograph_set:
        kind += "_" + "_".join(x.split("=")[-1] for x in args.autograph_set)
    if args.split_seed is not None:
        kind += f"_split{args.split_seed}"
    if args.split_seed is None:
        split = f"- split: random per-user 80/10/10; seeds {args.seeds} (split, init, sampling, quantizer)\n"
    else:
        split = (f"- split: random per-user 80/10/10, split seed {args.split_seed} for every run; "
                 f"seeds {args.seeds} (init, sampling, quantizer)\n")
    md = header(
        f"AutoGraph on {args.dataset}: {kind}",
        split +
        f"- training: dim {args.dim}, Adam lr {args.lr}, batch 4096, eval every 5 epochs, patience 5, warm-up 20, "
        f"max {args.epochs} epochs; best epoch on validation Recall@20; same settings for every variant\n"
        f"- AutoGraph defaults unless the variant says otherwise: RQ-VAE 3 levels, 2 levels used, aggregation from autograph.aggregation (metapath_mean before 2026-11-22 03:40 UTC, plain after), "
        f"MiniLM sentence vectors; `none` = template-only text (no generation)\n"
        f"- extra AutoGraph overrides: {args.autograph_set or 'none'}\n",
    )
    md += "\n" + table(rows, ("model", "variant")) + "\n"
    print(md)
    write_result(f"autograph_{args.dataset}_{kind}_{'_'.join(args.models)}{args.tag}", md,
                 {"args": vars(args), "code": code_version(), "rows": rows})


if __name__ == "__main__":
    main()
