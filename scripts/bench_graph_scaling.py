"""Time and memory of building AutoGraph's augmented graph, 10^3 ... 10^6 synthetic nodes.

    python scripts/bench_graph_scaling.py --sizes 1000 10000 100000 1000000 --threads 1

Synthetic input per size N (users + items): N/2 users, N/2 items, ``--degree`` training
interactions per user (items drawn uniformly), 3-level codes with ``--codebook`` codes per level
for users and items, the first 2 levels as factor edges (the library default). Each size runs in
a fresh process so its peak resident memory is its own. Reported per size: nodes (including
factor nodes), edges (both directions), the median seconds of ``AugmentedGraphBuilder.build``,
of the ``HeteroData`` view and of the normalised CSR adjacency a backbone propagates with, the
nanoseconds per node + edge (flat if the cost is linear), the bytes of the built graph's tensors
and the growth of peak RSS during the build.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import header, write_result  # noqa: E402


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median seconds of ``repeats`` calls after one untimed warm-up call (lazy imports, first-touch pages)."""
    out = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def child(n: int, degree: int, codebook: int, repeats: int, threads: int, seed: int) -> dict:
    import numpy as np
    import torch

    import torch_geometric.data  # noqa: F401  imported here so the HeteroData timing does not pay for it

    from autograph_rec.graph import AugmentedGraphBuilder
    from autograph_rec.nn.propagation import normalized_adjacency

    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    num_users, num_items = n // 2, n - n // 2
    users = np.repeat(np.arange(num_users, dtype=np.int64), degree)
    items = rng.integers(0, num_items, size=users.size, dtype=np.int64)
    user_codes = rng.integers(0, codebook, size=(num_users, 3), dtype=np.int64)
    item_codes = rng.integers(0, codebook, size=(num_items, 3), dtype=np.int64)
    builder = AugmentedGraphBuilder(num_levels=2, factor_weight=0.25)

    def build():
        return builder.build(users, items, num_users, num_items, user_codes, item_codes, codebook, codebook)

    before = peak_rss_bytes()
    build()  # first build alone decides the peak-memory growth
    rss_growth = peak_rss_bytes() - before
    build_s, graph = timed(build, repeats)
    hetero_s, _ = timed(graph.to_hetero_data, repeats)
    adj_s, _ = timed(lambda: normalized_adjacency(graph.edge_index, graph.num_nodes, graph.edge_weight), repeats)
    edges = graph.edge_index.size(1)
    graph_bytes = sum(t.element_size() * t.numel() for t in (graph.edge_index, graph.edge_type, graph.edge_weight))
    return {"n": n, "nodes": graph.num_nodes, "edges": edges, "build_s": build_s, "hetero_s": hetero_s,
            "adjacency_s": adj_s, "build_ns_per_element": build_s / (graph.num_nodes + edges) * 1e9,
            "adjacency_ns_per_element": adj_s / (graph.num_nodes + edges) * 1e9,
            "graph_bytes": graph_bytes, "peak_rss_growth_bytes": rss_growth}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", nargs="+", type=int, default=[1000, 10_000, 100_000, 1_000_000])
    p.add_argument("--degree", type=int, default=10, help="training interactions per user")
    p.add_argument("--codebook", type=int, default=256, help="codes per level (users and items)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.degree, args.codebook, args.repeats, args.threads, args.seed)))
        return

    rows = []
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--child", str(n), "--degree", str(args.degree), "--codebook",
               str(args.codebook), "--repeats", str(args.repeats), "--threads", str(args.threads), "--seed", str(args.seed)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    lines = ["| users + items | nodes (with factors) | edges (both directions) | build s | ns per node+edge | "
             "HeteroData view s | normalised adjacency s | adjacency ns per node+edge | graph tensors MiB | peak RSS growth MiB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['n']:,} | {r['nodes']:,} | {r['edges']:,} | {r['build_s']:.4f} | {r['build_ns_per_element']:.1f} | "
                     f"{r['hetero_s']:.4f} | {r['adjacency_s']:.4f} | {r['adjacency_ns_per_element']:.1f} | "
                     f"{r['graph_bytes'] / 2**20:.1f} | {r['peak_rss_growth_bytes'] / 2**20:.1f} |")
    md = header(
        "Augmented-graph construction: time and memory against size (synthetic)",
        f"- input per size N: N/2 users, N/2 items, {args.degree} interactions per user, 3-level codes with "
        f"{args.codebook} codes per level, 2 levels as factor edges; seed {args.seed}\n"
        f"- timings: median of {args.repeats} after one warm-up call; torch threads {args.threads}; each size in a fresh process\n",
    )
    md += "\n" + "\n".join(lines) + "\n"
    print(md)
    write_result("graph_scaling", md, {"args": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
