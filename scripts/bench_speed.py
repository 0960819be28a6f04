"""Speed of our LightGCN vs PyG's LightGCN vs RecBole 1.2.1's LightGCN, same split, same machine.

Each implementation runs in its own process (so peak RSS is its own) on the identical split
file, with identical hyperparameters (textbook LightGCN: mean of layers 0..L, dim 64, 3 layers,
Adam lr 1e-3, batch 4096, one uniform negative, L2 1e-4 on the batch's ego embeddings, validation
Recall@20 every 5 epochs, patience 5) and the same full-ranking evaluator for ours and PyG's
(RecBole evaluates with its own). Reported: seconds per training epoch, seconds per full
validation pass, best epoch, peak RSS, test Recall@20 / NDCG@20.

    python scripts/bench_speed.py --datasets ml-100k rlmrec-amazon --epochs 300

RecBole needs its own virtualenv (see scripts/compare/README.md); pass it with --recbole-python.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def run_ours(npz: str, args) -> dict:
    """Worker: our Trainer + LightGCN on the split file; prints one JSON line."""
    import torch

    from autograph_rec.config import EvalConfig, TrainConfig
    from autograph_rec.data import DataSplit
    from autograph_rec.nn import LightGCN
    from autograph_rec.train import Trainer

    if args.threads:
        torch.set_num_threads(args.threads)
    split = DataSplit.load_npz(npz)
    model = LightGCN(split.num_users, split.num_items, embedding_dim=args.dim, num_layers=args.layers, seed=args.seed)
    train_cfg = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, reg_weight=args.reg, eval_every=args.eval_every,
        patience=args.patience, warmup_epochs=0, metric="recall@20", seed=args.seed, device="cpu", save_checkpoint=False,
        keep_freed_memory=not args.default_allocator,  # the ours-glibc variant
    )
    result = Trainer(model, split, train_cfg, EvalConfig(ks=[20], metrics=["recall", "ndcg"]), progress=False).fit()
    return {
        "impl": "ours", "dataset": args.dataset_name, "seconds_per_epoch": result.seconds_per_epoch,
        "seconds_per_eval": result.seconds_per_eval, "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "valid": result.valid, "test": result.test,
    }


def export_split(name: str, data_dir: str | None, out: Path) -> Path:
    from autograph_rec.data import load_dataset, split_dataset

    ds = load_dataset(name, data_dir)
    split = split_dataset(ds, "predefined" if ds.predefined_split is not None else "random", seed=0)
    path = out / f"{name}.npz"
    split.save_npz(path)
    return path


def common_flags(args) -> list[str]:
    return ["--dim", str(args.dim), "--layers", str(args.layers), "--lr", str(args.lr), "--batch-size", str(args.batch_size),
            "--reg", str(args.reg), "--epochs", str(args.epochs), "--eval-every", str(args.eval_every),
            "--patience", str(args.patience), "--seed", str(args.seed)]


def last_json_line(text: str) -> dict:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"no JSON result in output:\n{text[-2000:]}")


IMPLS = ("ours", "ours-glibc", "pyg", "pyg-keep", "recbole", "recbole-keep")


def run_impl(impl: str, name: str, npz: Path, work: Path, args) -> dict:
    """Run one implementation variant in its own process; returns its JSON result row."""
    base = impl.split("-")[0]
    env = dict(os.environ)
    if impl.endswith("-keep"):
        # what autograph_rec.train.allocator.keep_freed_memory() sets, as glibc environment variables
        from autograph_rec.train.allocator import MMAP_THRESHOLD, TRIM_THRESHOLD

        env.update(MALLOC_MMAP_THRESHOLD_=str(MMAP_THRESHOLD), MALLOC_TRIM_THRESHOLD_=str(TRIM_THRESHOLD))
    if base == "ours":
        cmd = [sys.executable, __file__, "--worker", str(npz), "--dataset-name", name, *common_flags(args)]
        if impl == "ours-glibc":
            cmd += ["--default-allocator"]
    elif base == "pyg":
        cmd = [sys.executable, str(HERE / "compare" / "pyg_lightgcn.py"), str(npz), "--dataset", name, *common_flags(args)]
    else:
        cmd = [args.recbole_python, str(HERE / "compare" / "recbole_lightgcn.py"), str(npz), "--dataset", name,
               "--workdir", str(work / f"recbole-{name}"), *common_flags(args)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    print("running", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{impl} on {name} failed:\n{proc.stderr[-3000:]}")
    row = last_json_line(proc.stdout)
    row["impl"], row["dataset"], row["max_epochs"] = impl, name, args.epochs
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["ml-100k", "rlmrec-amazon"])
    parser.add_argument("--impls", nargs="+", default=["ours", "pyg", "recbole"], choices=IMPLS)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--work", default="runs/bench_speed")
    parser.add_argument("--recbole-python", default=str(Path.home() / ".." / "work" / ".venv-recbole" / "bin" / "python"))
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--reg", type=float, default=1e-4)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--eval-every", type=int, default=5)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds; the implementations run interleaved in each round and the table shows the "
                             "median seconds (min-max), which steadies numbers on a noisy shared machine")
    parser.add_argument("--default-allocator", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="", help="suffix of the result file name (docs/results/speed_lightgcn<tag>.*)")
    parser.add_argument("--reuse", help="JSON lines of earlier results (this script's output) to keep instead of rerunning")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--dataset-name", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(run_ours(args.worker, args)))
        return

    from _bench import header, write_result

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results: list[dict] = []
    reused = []
    if args.reuse:
        reused = [json.loads(line) for line in Path(args.reuse).read_text().splitlines() if line.startswith("{")]
    for name in args.datasets:
        npz = export_split(name, args.data_dir, work)
        for round_ in range(args.repeat):
            for impl in args.impls:
                old = next((r for r in reused if r["dataset"] == name and r["impl"] == impl), None)
                if old is not None:
                    if round_ == 0:
                        print(f"reusing the earlier {impl} result on {name} (max epochs {old.get('max_epochs', '?')})", flush=True)
                        results.append(old)
                    continue
                row = run_impl(impl, name, npz, work, args)
                row["round"] = round_
                print(json.dumps(row), flush=True)
                results.append(row)

    lines = ["| dataset | implementation | s/epoch (median, min–max) | ours ÷ it | s/eval | best epoch (run / cap) | peak RSS MiB | test Recall@20 | test NDCG@20 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in args.datasets:
        rows = {impl: [r for r in results if r["dataset"] == name and r["impl"] == impl] for impl in args.impls}
        med = {impl: statistics.median(r["seconds_per_epoch"] for r in rs) for impl, rs in rows.items() if rs}
        for impl, rs in rows.items():
            if not rs:
                continue
            secs = [r["seconds_per_epoch"] for r in rs]
            spread = f" ({min(secs):.3f}–{max(secs):.3f}, {len(secs)} runs)" if len(secs) > 1 else ""
            ratio = f"{med['ours'] / med[impl]:.2f}×" if "ours" in med else "—"
            r = rs[0]  # training is deterministic per implementation: quality columns agree across rounds
            lines.append(
                f"| {name} | {impl} | {med[impl]:.3f}{spread} | {ratio} | {statistics.median(x['seconds_per_eval'] for x in rs):.3f} | "
                f"{r['best_epoch']} ({r['epochs_run']} / {r.get('max_epochs', '?')}) | {max(x['peak_rss_mb'] for x in rs):.0f} | "
                f"{r['test']['recall@20']:.4f} | {r['test']['ndcg@20']:.4f} |"
            )
    md = header(
        "Speed: our LightGCN vs PyG's and RecBole's",
        f"- split: ml-100k random per-user 80/10/10 (seed 0); rlmrec-amazon RLMRec's published split\n"
        f"- settings: dim {args.dim}, {args.layers} layers, Adam lr {args.lr}, batch {args.batch_size}, L2 {args.reg}, "
        f"eval every {args.eval_every} epochs, patience {args.patience}, seed {args.seed}; epoch cap per row in the table\n"
        f"- threads: {args.threads or 'torch default'} per process, one implementation at a time\n"
        f"- rounds: {args.repeat} (implementations interleaved within a round)\n"
        f"- implementations: `ours` = TrainConfig defaults (keep_freed_memory on); `ours-glibc` = keep_freed_memory=False; "
        f"`pyg-keep` / `recbole-keep` = the reference run with the same glibc thresholds set through MALLOC_* env\n",
    )
    md += "\n" + "\n".join(lines) + "\n"
    print(md)
    write_result(f"speed_lightgcn{args.tag}", md, {"results": results})


if __name__ == "__main__":
    main()
