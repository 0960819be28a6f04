"""Test data for tests/hpo: a small synthetic clustered dataset and a fast base config.

(A plain module, not conftest: several conftest.py files share that module name.)
"""

from pathlib import Path

import numpy as np


def write_clustered_csv(folder: Path, num_users: int = 240, num_items: int = 300, per_user: int = 24,
                        clusters: int = 6, seed: int = 0) -> Path:
    """Users and items in ``clusters`` taste groups; 85 % of a user's items come from its group,
    so a trained model clearly beats an untrained one (and learning rates differ visibly)."""
    rng = np.random.default_rng(seed)
    rows = ["user_id,item_id,rating,timestamp"]
    items_of = [np.arange(c, num_items, clusters) for c in range(clusters)]
    for u in range(num_users):
        own = items_of[u % clusters]
        n_own = int(per_user * 0.85)
        chosen = set(rng.choice(own, size=min(n_own, len(own)), replace=False).tolist())
        while len(chosen) < per_user:
            chosen.add(int(rng.integers(num_items)))
        rows += [f"{u + 1},{i + 1},5,{t}" for t, i in enumerate(sorted(chosen))]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "inter.csv").write_text("\n".join(rows) + "\n")
    genres = ["Drama", "Comedy", "Action", "Horror", "Romance", "Sci-Fi"]
    items = ["item_id,title,genres,year"] + [
        f"{i + 1},Movie {i + 1},{genres[i % clusters % len(genres)]},{1980 + i % 30}" for i in range(num_items)
    ]
    (folder / "items.csv").write_text("\n".join(items) + "\n")
    return folder


def base_overrides(folder: Path, epochs: int = 6) -> list[str]:
    return [
        "data.name=csv", f"data.path={folder / 'inter.csv'}", f"data.item_features_path={folder / 'items.csv'}",
        "data.domain=movies", f"train.epochs={epochs}", "train.eval_every=1", "train.warmup_epochs=0",
        "train.patience=100", "train.device=cpu", "train.num_threads=1", "train.batch_size=2048",
        "model.embedding_dim=16", "eval.ks=[10, 20]",
    ]
