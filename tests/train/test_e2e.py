"""A short real training run: LightGCN on MovieLens-100K must clearly beat most-popular."""

import json

import pytest
import torch

from autograph_rec.config import RunConfig
from autograph_rec.eval import RankingEvaluator, most_popular_scores
from autograph_rec.pipeline import prepare_data, run_training
from autograph_rec.train import load_checkpoint


@pytest.mark.slow
def test_lightgcn_ml100k_beats_popularity(real_data_dir, tmp_path):
    config = RunConfig().with_overrides([
        f"data.data_dir={real_data_dir}", "data.name=ml-100k", "data.seed=0",
        "model.name=lightgcn", "model.embedding_dim=48",
        "train.epochs=30", "train.lr=0.01", "train.eval_every=10", "train.warmup_epochs=0",
        "train.device=cpu", f"output={tmp_path / 'run'}",
    ])
    result = run_training(config, progress=False)

    _, split = prepare_data(config.data)
    evaluator = RankingEvaluator(ks=(20,), metrics=("recall", "ndcg"))
    pop = evaluator.evaluate(most_popular_scores(split.csr("train")), split.csr("test"),
                             exclude=[split.csr("train"), split.csr("valid")])
    assert result.test["recall@20"] > 1.3 * pop["recall@20"], (result.test, pop)
    assert result.test["ndcg@20"] > 1.3 * pop["ndcg@20"]

    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(saved) >= {"valid", "test", "best_epoch", "seconds"}
    assert saved["test"]["recall@20"] == pytest.approx(result.test["recall@20"])
    assert (tmp_path / "run" / "config.yaml").is_file()

    model, meta = load_checkpoint(tmp_path / "run" / "model.pt")
    assert meta["best_epoch"] == result.best_epoch
    assert model.embedding.weight.shape == (split.num_users + split.num_items, 48)
    assert meta["kwargs"]["embedding_dim"] == 48


def test_early_stopping_restores_best(tmp_path):
    from autograph_rec.train import EarlyStopping

    model = torch.nn.Linear(2, 1)
    stopper = EarlyStopping(patience=2, warmup_epochs=0)
    assert stopper.step(1, 0.5, model)
    best = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    assert not stopper.step(2, 0.4, model)
    assert not stopper.should_stop(2)
    assert not stopper.step(3, 0.4, model)
    assert stopper.should_stop(3)
    stopper.restore(model)
    assert torch.equal(model.weight, best)


def test_patience_zero_stops_at_the_first_validation_without_improvement():
    from autograph_rec.train import EarlyStopping

    model = torch.nn.Linear(2, 1)
    stopper = EarlyStopping(patience=0, warmup_epochs=0)
    assert stopper.step(5, 0.5, model) and not stopper.should_stop(5)  # improved: keep going
    assert stopper.step(10, 0.6, model) and not stopper.should_stop(10)
    assert not stopper.step(15, 0.6, model) and stopper.should_stop(15)


def test_warmup_prevents_early_stop():
    from autograph_rec.train import EarlyStopping

    model = torch.nn.Linear(2, 1)
    stopper = EarlyStopping(patience=1, warmup_epochs=50)
    stopper.step(5, 0.5, model)
    stopper.step(10, 0.4, model)
    assert not stopper.should_stop(10)
    stopper.step(50, 0.4, model)
    assert stopper.should_stop(50)


def test_metric_with_unevaluated_cutoff_is_rejected_before_training():
    # 'recall@50' with eval.ks=[10, 20] passed the check on the name and raised KeyError at the
    # first validation, after eval_every epochs of training
    import numpy as np

    from autograph_rec.config import EvalConfig, TrainConfig
    from autograph_rec.data import DataSplit, Interactions
    from autograph_rec.nn import build_backbone
    from autograph_rec.train import Trainer

    inter = Interactions(np.array([0, 1]), np.array([0, 1]))
    split = DataSplit(inter, inter, inter, 2, 3)
    model = build_backbone("mf", 2, 3, embedding_dim=4, seed=0)
    with pytest.raises(ValueError, match="train.metric 'recall@50' must be one of the evaluated metrics"):
        Trainer(model, split, TrainConfig(metric="recall@50", device="cpu"), EvalConfig(ks=[10, 20]), progress=False)


def test_a_split_without_training_interactions_is_a_clear_error():
    import numpy as np

    from autograph_rec.config import TrainConfig
    from autograph_rec.data import DataError, DataSplit, Interactions
    from autograph_rec.nn import build_backbone
    from autograph_rec.train import Trainer

    empty = Interactions(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    split = DataSplit(empty, empty, empty, 3, 4)  # (a user in valid or test is already named as lacking training)
    model = build_backbone("mf", 3, 4, embedding_dim=4, seed=0)
    # it failed with "UnboundLocalError: cannot access local variable 'loss'"
    with pytest.raises(DataError, match="no training interactions"):
        Trainer(model, split, TrainConfig(epochs=2, device="cpu"), progress=False).fit()
