"""Profiling throughput with a real LLM, and encoder throughput, on MovieLens-100K (or any dataset).

    python scripts/bench_profiling.py --llm smollm2 --users all --items all       # the whole dataset
    python scripts/bench_profiling.py --llm smollm2 --users 16 --items 32         # a quick sample
    python scripts/bench_profiling.py --dataset ml-1m-subset --users all --items all --split-seed 0

Filling the cache for ``bench_autograph.py --variants smollm2`` ahead of training: the prompts and
generation settings are the pipeline's defaults, so every response generated here is reused there.

Responses go to the shared SQLite cache, so an interrupted run resumes where it stopped (a
rerun reports the cached rows separately and does not count them as throughput). Generated
profiles derive from MovieLens and are written under runs/ (never committed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import header, write_result  # noqa: E402

from autograph_rec.config import DataConfig, LLMConfig  # noqa: E402
from autograph_rec.llm import GenerationSettings  # noqa: E402
from autograph_rec.llm.registry import build_llm  # noqa: E402
from autograph_rec.pipeline import prepare_data  # noqa: E402
from autograph_rec.profiling import Profiler  # noqa: E402

# The pipeline's defaults, so `autograph-rec run --llm smollm2 --set llm.cache=<this cache>` reuses
# every response generated here (same prompts, same settings, same cache keys).
DEFAULTS = LLMConfig()


def count(text: str) -> int | None:
    """``--users`` / ``--items``: a number of rows (the first ones by internal id) or ``all``."""
    if text == "all":
        return None
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a count >= 0 or 'all', got {text}")
    return n


def first(n: int | None, total: int) -> list[int]:
    return list(range(total if n is None else min(n, total)))


def share(n: int, prof) -> str:
    """``n`` rows and their share of the profiled rows, for the results table."""
    return f"{n} ({n / max(len(prof.frame), 1):.1%})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llm", default="smollm2", choices=["smollm2", "llamacpp", "openai"])
    parser.add_argument("--base-url")
    parser.add_argument("--model")
    parser.add_argument("--dataset", default="ml-100k", help="any name `autograph-rec` accepts, e.g. ml-1m-subset")
    parser.add_argument("--users", type=count, default=16, help="first N users, or 'all' (default: 16)")
    parser.add_argument("--items", type=count, default=32, help="first N items, or 'all' (default: 32)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=DEFAULTS.max_new_tokens)
    parser.add_argument("--repetition-penalty", type=float, default=DEFAULTS.repetition_penalty)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--cache", default="runs/bench_profiling/llm_responses.sqlite")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch / llama.cpp (default: the library's choice)")
    parser.add_argument("--split-seed", type=int, default=0,
                        help="seed of the random 80/10/10 split whose training history the user prompts use "
                             "(match bench_autograph.py's --seeds to fill its cache for that seed)")
    parser.add_argument("--tag", default="", help="suffix of the result file name (keeps earlier result files)")
    parser.add_argument("--encode", type=int, default=200, help="texts for the encoder throughput test (0: skip)")
    args = parser.parse_args()

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    dataset, split = prepare_data(DataConfig(name=args.dataset, data_dir=args.data_dir, seed=args.split_seed))
    Path(args.cache).parent.mkdir(parents=True, exist_ok=True)
    kwargs = {"smollm2": {"batch_size": args.batch_size}, "llamacpp": {"n_threads": args.threads},
              "openai": {"base_url": args.base_url, "model": args.model}}[args.llm]
    t0 = time.perf_counter()
    llm = build_llm(args.llm, cache=args.cache, **kwargs)
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens, repetition_penalty=args.repetition_penalty)
    profiler = Profiler(llm, settings=settings, chunk_size=args.batch_size * 2)
    items = profiler.profile_items(dataset, first(args.items, dataset.num_items))
    users = profiler.profile_users(dataset, split, first(args.users, dataset.num_users))
    total = time.perf_counter() - t0
    rows, examples = [], []
    for kind, prof in (("items", items), ("users", users)):
        s = prof.stats
        rows.append(f"| {kind} | {len(prof.frame)} | {s.get('generated_rows', 0)} | {s.get('calls', 0)} | {s.get('cached', 0)} | "
                    f"{s.get('profiles_per_s', 0):.3f} | "
                    f"{s.get('tokens_per_s', 0):.1f} | {share(s['failed'] - s['unusable'], prof)} | {share(s['unusable'], prof)} |")
        for rec in prof.frame.head(2 if kind == "items" else 1).to_dict("records"):
            examples.append(f"**{kind[:-1]} {rec['id']}** (status {rec['status']}):\n\n```\n{rec['text']}\n```")
    enc_lines = []
    if args.encode:
        from autograph_rec.encode import build_encoder

        texts = (items.texts + users.texts) * (args.encode // max(len(items.texts) + len(users.texts), 1) + 1)
        texts = [f"{t} [{i}]" for i, t in enumerate(texts[: args.encode])]  # distinct, so nothing is served from a cache
        for name in ("minilm", "llm"):
            enc = build_encoder(name) if name == "minilm" else build_encoder(name, batch_size=8)
            n = len(texts) if name == "minilm" else min(len(texts), 32)
            t1 = time.perf_counter()
            enc.encode(texts[:n], show_progress=False)
            dt = time.perf_counter() - t1
            enc_lines.append(f"| {name} | {n} | {enc.dim} | {n / dt:.2f} |")
    md = header(
        f"Profiling throughput: {args.llm} on {args.dataset}",
        f"- sample: first {len(items.frame)} items and first {len(users.frame)} users (internal ids); user prompts use the last ≤30 "
        f"training items (random per-user 80/10/10 split, seed {args.split_seed})\n"
        f"- generation: greedy, max {args.max_new_tokens} new tokens, repetition penalty {args.repetition_penalty}, "
        f"batch {args.batch_size}; retries (sampled) for empty/refused/chatter/echoing/repetitive/truncated outputs\n"
        f"- wall time including model load: {total:.0f} s\n",
    )
    md += "\n| kind | rows | rows generated | generated calls | cached calls | profiles/s | tokens/s | truncated after retries (kept) | unusable after retries (template text instead) |\n|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    md += "\nVerdicts per row, first attempt → final (the checks that cost retries, and what they could not mend):\n\n"
    for kind, prof in (("items", items), ("users", users)):
        first_v, final_v = (", ".join(f"{k} {n}" for k, n in prof.stats.get(key, {}).items()) or "—"
                            for key in ("first_verdicts", "final_verdicts"))
        md += f"- {kind}: first attempt {first_v}; final {final_v}\n"
    if enc_lines:
        md += "\n| encoder | texts | dim | texts/s |\n|---|---|---|---|\n" + "\n".join(enc_lines) + "\n"
    md += "\nExample profiles, verbatim:\n\n" + "\n\n".join(examples) + "\n"
    print(md)
    suffix = f"_split{args.split_seed}" if args.split_seed else ""
    name = "" if args.dataset == "ml-100k" else f"_{args.dataset}"  # ML-100K keeps its earlier file names
    write_result(f"profiling_{args.llm}{name}{suffix}{args.tag}", md, {"items": items.stats, "users": users.stats})


if __name__ == "__main__":
    main()
