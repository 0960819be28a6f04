"""Micro-benchmark of the kernels a LightGCN training step is made of, on Amazon-book's graph.

Compares the ways to run one propagation product (``torch.sparse.mm`` vs
``autograph_rec.nn.propagation.csr_mm``), the default (foreach) Adam step vs the fused one
used by the trainer, and minor page faults of a training epoch with and without
``autograph_rec.train.allocator.keep_freed_memory`` (each in a fresh process, since the
allocator setting cannot be undone).

    python scripts/bench_spmm.py --threads 1 2

Each timing is the median of --repeats rounds of --calls calls; every call writes a fresh
output tensor, as in training.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import header, write_result  # noqa: E402


def amazon_adjacency(data_dir: str | None):
    import torch

    from autograph_rec.data import load_dataset, split_dataset
    from autograph_rec.graph.bipartite import bipartite_edge_index
    from autograph_rec.nn.propagation import normalized_adjacency

    split = split_dataset(load_dataset("rlmrec-amazon", data_dir), "predefined")
    num_nodes = split.num_users + split.num_items
    edge_index = bipartite_edge_index(split.train.user, split.train.item, split.num_users)
    return normalized_adjacency(edge_index, num_nodes).to(torch.float32), split


def median_ms(fn, calls: int, repeats: int) -> float:
    fn(0)
    rounds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(calls):
            fn(i)
        rounds.append((time.perf_counter() - t0) / calls * 1000)
    return statistics.median(rounds)


def kernels(args, threads: int, keep: bool) -> dict:
    import torch

    from autograph_rec.nn.propagation import csr_mm
    from autograph_rec.train.allocator import keep_freed_memory

    torch.set_num_threads(threads)
    if keep:
        keep_freed_memory()
    adj, _ = amazon_adjacency(args.data_dir)
    xs = [torch.randn(adj.size(1), 64) for _ in range(4)]
    out = {
        "torch.sparse.mm": median_ms(lambda i: torch.sparse.mm(adj, xs[i % 4]), args.calls, args.repeats),
        "csr_mm": median_ms(lambda i: csr_mm(adj, xs[i % 4]), args.calls, args.repeats),
    }
    for fused in (False, True):
        weight = torch.nn.Parameter(torch.randn(adj.size(0), 64))
        opt = torch.optim.Adam([weight], lr=1e-3, fused=True if fused else None)

        def step(i, weight=weight, opt=opt):
            weight.grad = xs[i % 4]
            opt.step()

        out[f"Adam step ({'fused' if fused else 'foreach'})"] = median_ms(step, args.calls, args.repeats)
    return out


def epoch_faults(args, threads: int, keep: bool) -> dict:
    """Worker: two LightGCN epochs on Amazon-book; minor page faults and seconds of the second."""
    import resource

    import torch

    from autograph_rec.data import NegativeSampler, bpr_batches
    from autograph_rec.nn import LightGCN
    from autograph_rec.train.allocator import keep_freed_memory
    from autograph_rec.train.utils import make_adam

    torch.set_num_threads(threads)
    if keep:
        keep_freed_memory()
    adj, split = amazon_adjacency(args.data_dir)
    model = LightGCN(split.num_users, split.num_items, 64, 3, seed=0)
    opt = make_adam(model.parameters(), 1e-3)
    sampler = NegativeSampler(split.train, split.num_users, split.num_items)
    generator = torch.Generator().manual_seed(0)
    result = {}
    for epoch in range(2):
        faults0, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
        for users, pos, neg in bpr_batches(split.train, sampler, 4096, generator):
            loss, _ = model.training_loss(adj, users, pos, neg, 1e-4)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        result = {"seconds": time.perf_counter() - t0, "minor_faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--worker", choices=["keep", "default"], help=argparse.SUPPRESS)
    parser.add_argument("--worker-threads", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(epoch_faults(args, args.worker_threads, args.worker == "keep")))
        return

    rows, payload = [], {"kernels": {}, "epochs": {}}
    for threads in args.threads:
        for mode in ("default", "keep"):
            # kernels in a child too, so no run inherits an allocator setting from another
            code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_spmm, json, argparse; " \
                   f"print(json.dumps(bench_spmm.kernels(argparse.Namespace(data_dir={args.data_dir!r}, calls={args.calls}, " \
                   f"repeats={args.repeats}), {threads}, {mode == 'keep'})))"
            res = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()[-1])
            payload["kernels"][f"{threads}-{mode}"] = res
            label = "keep_freed_memory()" if mode == "keep" else "glibc default"
            rows += [f"| {name}, {label} | {threads} | {ms:.2f} ms |" for name, ms in res.items()]
        for mode in ("default", "keep"):
            cmd = [sys.executable, __file__, "--worker", mode, "--worker-threads", str(threads)]
            if args.data_dir:
                cmd += ["--data-dir", args.data_dir]
            res = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
            payload["epochs"][f"{threads}-{mode}"] = res
            label = "keep_freed_memory()" if mode == "keep" else "glibc default"
            rows.append(f"| LightGCN epoch, {label} | {threads} | {res['seconds']:.3f} s, {res['minor_faults']:,} minor faults |")
    md = header("Kernels of a LightGCN step on Amazon-book (20,332 nodes, 240,928 adjacency entries, dim 64)")
    md += "\n| what | threads | time |\n|---|---|---|\n" + "\n".join(rows) + "\n"
    print(md)
    write_result("spmm_micro", md, payload)


if __name__ == "__main__":
    main()
