"""How much collaborative signal do AutoGraph's latent factors carry? Simple recommenders built from
the codes (and the vectors they quantize) against popularity, on validation.

    python scripts/factor_signal.py --dataset ml-1m-subset --seeds 0 1 2 \\
        --stage-root runs/bench_tuned_autograph/ml-1m-subset/stages

For each split seed it takes the pipeline's profiles → vectors → codes stages (the library
defaults: RQ-VAE, 3 levels, automatic codebook sizes; ``--stage-root`` reuses stages a benchmark
built, otherwise they are built in a temporary folder) and scores every item for every user with:

- ``popularity``: training users per item (the floor);
- ``user code, level l``: items of the *other* users who share the user's level-l code (the
  u→q→u path through that level's factor node, alone); ``levels 0+1`` sums both levels' scores,
  the two factor nodes a user links to with the default ``autograph.levels=2``;
- ``item code, level l``: items sharing their level-l code with the user's training items (the
  i→q→i path, alone), and ``levels 0+1`` likewise;
- ``user vectors kNN`` / ``item vectors kNN``: the same with the 50 most cosine-similar users /
  items by the unquantized semantic vectors, weighted by similarity (what quantization keeps of it);
- ``user CF kNN`` / ``item CF kNN``: the 50 most similar users / items by training interactions
  (cosine), i.e. the collaborative signal the graph already has.

Every recommender breaks ties by popularity. Ranking is full, training items are masked, and the
target is the **validation** split (nothing is selected here; the test split is not read).
Variants: ``--llm none`` (template-only text) or ``--llm smollm2`` (only with a profiles stage
already built under ``--stage-root``: this script never generates).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import header, write_result  # noqa: E402

from autograph_rec.artifacts import stable_hash  # noqa: E402
from autograph_rec.config import RunConfig  # noqa: E402
from autograph_rec.eval import RankingEvaluator  # noqa: E402
from autograph_rec.pipeline import AutoGraphPipeline  # noqa: E402

NEIGHBOURS = 50


def group_scores(train: sp.csr_matrix, codes: np.ndarray, levels: tuple[int, ...], side: str) -> np.ndarray:
    """``[U, I]`` scores of the code-group recommender on ``side`` (users or items): the sum over
    ``levels`` of each level's own groups, as the graph links a node to one factor node per level."""
    return sum(_one_level(train, codes[:, level], side) for level in levels)


def _one_level(train: sp.csr_matrix, group: np.ndarray, side: str) -> np.ndarray:
    member = sp.csr_matrix((np.ones(len(group), np.float32), (np.arange(len(group)), group)))
    if side == "users":  # what the user's code-mates interacted with, minus the user's own items
        return np.asarray((member @ (member.T @ train)).todense()) - train.toarray()
    return np.asarray(((train @ member) @ member.T).todense())  # the user's items per code of each item


def knn_scores(train: sp.csr_matrix, vectors: np.ndarray, side: str) -> np.ndarray:
    """``[U, I]`` scores from the ``NEIGHBOURS`` most cosine-similar rows of ``vectors`` (self excluded)."""
    v = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    sim = v @ v.T
    np.fill_diagonal(sim, -np.inf)
    keep = np.argpartition(-sim, NEIGHBOURS, axis=1)[:, :NEIGHBOURS]
    rows = np.repeat(np.arange(len(v)), NEIGHBOURS)
    weights = sp.csr_matrix((np.clip(sim[rows, keep.ravel()], 0, None), (rows, keep.ravel())), shape=sim.shape)
    if side == "users":
        return np.asarray((weights @ train).todense())
    return np.asarray((train @ weights.T).todense())


def evaluate(scores: np.ndarray, popularity: np.ndarray, split, evaluator: RankingEvaluator) -> float:
    ranked = torch.as_tensor(scores, dtype=torch.float32) + torch.as_tensor(popularity * 1e-6, dtype=torch.float32)
    return evaluator.evaluate(lambda users: ranked[users], split.csr("valid"), exclude=[split.csr("train")])["ndcg@20"]


def signal_of_seed(args, seed: int, root: Path) -> dict[str, float]:
    sets = [f"data.name={args.dataset}", f"data.seed={seed}", f"quantize.seed={seed}", f"llm.backend={args.llm}",
            "autograph.enabled=true", f"output={root / f'seed{seed}'}"]
    if args.llm_cache:
        sets.append(f"llm.cache={args.llm_cache}")
    if args.data_dir:
        sets.append(f"data.data_dir={args.data_dir}")
    pipeline = AutoGraphPipeline(RunConfig().with_overrides(sets), progress=False, stage_root=root)
    if args.llm != "none":  # never generate here: hours of LLM calls belong to the benchmark that pays them
        key = stable_hash(pipeline.profile_settings())
        if not (root / "profiles" / key / "manifest.json").is_file():
            raise SystemExit(f"no profiles stage {root / 'profiles' / key} for --llm {args.llm}, split seed {seed}: "
                             "build it with the benchmark first (this script does not generate)")
    _, split = pipeline.data
    vectors, codes = pipeline.encode(), pipeline.quantize()
    train = split.csr("train").astype(np.float32)
    train.data[:] = 1.0
    popularity = np.asarray(train.sum(axis=0)).ravel()
    evaluator = RankingEvaluator(ks=(20,), metrics=("ndcg",))
    out = {"popularity": evaluate(np.zeros(train.shape, np.float32), popularity, split, evaluator)}
    for side in ("users", "items"):
        for levels, name in (((0,), "level 0"), ((1,), "level 1"), ((0, 1), "levels 0+1")):
            out[f"{side[:-1]} code, {name}"] = evaluate(group_scores(train, codes[side], levels, side), popularity,
                                                       split, evaluator)
    out["user vectors kNN"] = evaluate(knn_scores(train, vectors["users"], "users"), popularity, split, evaluator)
    out["item vectors kNN"] = evaluate(knn_scores(train, vectors["items"], "items"), popularity, split, evaluator)
    out["user CF kNN"] = evaluate(knn_scores(train, train.toarray(), "users"), popularity, split, evaluator)
    out["item CF kNN"] = evaluate(knn_scores(train, train.T.toarray(), "items"), popularity, split, evaluator)
    out["codebook sizes (users, items)"] = str(tuple(codes["sizes"]))
    print(seed, out, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--llm", choices=("none", "smollm2"), default="none")
    parser.add_argument("--llm-cache", default=None, help="response cache of the benchmark that built the profiles")
    parser.add_argument("--stage-root", default=None, help="reuse the profiles/vectors/codes stages of a benchmark")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.stage_root).resolve() if args.stage_root else Path(tmp)
        per_seed = [signal_of_seed(args, seed, root) for seed in args.seeds]
    names = [k for k in per_seed[0] if not k.startswith("codebook")]
    pop = statistics.mean(r["popularity"] for r in per_seed)
    lines = ["| recommender | valid NDCG@20 | vs popularity |", "|---|---|---|"]
    for name in names:
        vals = [r[name] for r in per_seed]
        spread = f" ± {statistics.stdev(vals):.4f}" if len(vals) > 1 else ""
        lines.append(f"| {name} | {statistics.mean(vals):.4f}{spread} | {(statistics.mean(vals) - pop) / pop * 100:+.1f} % |")
    md = header(f"Collaborative signal of the latent factors: {args.dataset}, --llm {args.llm}",
                f"- split seeds {args.seeds} (random per-user 80/10/10); validation NDCG@20, full ranking, training items masked\n"
                f"- codebook sizes per seed (users, items): {[r['codebook sizes (users, items)'] for r in per_seed]}\n"
                f"- kNN: {NEIGHBOURS} neighbours, cosine, weighted by similarity; ties broken by popularity\n")
    md += "\n" + "\n".join(lines) + "\n"
    print(md)
    write_result(f"factor_signal_{args.dataset}_{args.llm}{args.tag}", md, {"args": vars(args), "seeds": per_seed})


if __name__ == "__main__":
    main()
