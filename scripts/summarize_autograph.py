"""One table of AutoGraph's NDCG@20 change over the vanilla backbone, across the result files of §4.

    python scripts/summarize_autograph.py

Reads the result files named in ``COMPARISONS`` (one printed row each; written by
``bench_autograph.py``, ``merge_autograph_results.py`` and ``bench_tuned_autograph.py``), averages
each (backbone, variant) over the seeds a file holds, and prints, per backbone, the relative change
of the mean test NDCG@20 of +AutoGraph over the vanilla backbone *of the same file* (same seeds,
same protocol, same tuning effort). Nothing is trained; the numbers are those of the files, recomputed, so the summary cannot
drift from the tables it summarises. Used for the "at a glance" table at the top of
docs/benchmarks.md §4.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"
BACKBONES = ("mf", "lightgcn", "ngcf", "sgl", "simgcl")
NAMES = {"mf": "MF", "lightgcn": "LightGCN", "ngcf": "NGCF", "sgl": "SGL", "simgcl": "SimGCL"}


#: The AutoGraph code of the rows measured before the fixes of 2026-12-04 (quantizers, SGL's views on
#: the augmented graph, seed streams; docs/benchmarks.md §4g), and of the rows measured after them.
BEFORE_FIXES = "before 12-04 fixes"
AFTER_FIXES = "current"


@dataclass(frozen=True)
class Comparison:
    """One comparison: a row of the printed table."""

    dataset: str
    tuning: str
    text: str  # what the profiles are: template-only text or an LLM's
    seeds: str
    files: tuple[str, ...]  # result files (docs/results/<name>.json), read together
    variant: str  # the +AutoGraph variant compared with "vanilla"
    section: str  # where docs/benchmarks.md discusses it
    code: str = BEFORE_FIXES  # which code measured it (the 2026-12-04 fixes changed AutoGraph's numbers)


COMPARISONS = (
    Comparison("ML-100K", "none (library defaults)", "template-only", "3", ("autograph_ml-100k_main_0.25_smollm2_checks2_3seeds",), "none", "4a"),
    Comparison("ML-100K", "none (library defaults)", "SmolLM2-135M", "3", ("autograph_ml-100k_main_0.25_smollm2_checks2_3seeds",), "smollm2", "4a"),
    # a later file's (backbone, variant) replaces an earlier one's: SGL at the current default view weight
    Comparison("ML-100K", "none (library defaults)", "template-only", "3",
               ("autograph_ml-100k_main_0.25_mf_lightgcn_ngcf_sgl_simgcl_v2", "autograph_ml-100k_main_0.25_1.0_sgl_v2_view1",
                "autograph_ml-100k_main_0.25_simgcl_v3"),  # SimGCL's views at view_factor_weight (c1ab0a0)
               "none", "4g", AFTER_FIXES),
    Comparison("ML-100K", "32 Optuna trials per side", "template-only", "3",
           ("tuned_autograph_ml-100k_mf_lightgcn_ngcf_sgl_simgcl_32trials",), "none", "4d"),
    Comparison("ML-100K", "32 trials per side (studies of §4d), best configs retrained", "template-only", "3",
               ("retrain_tuned_autograph_ml-100k_mf_lightgcn_ngcf_sgl_simgcl_32trials_all",
                "retrain_tuned_autograph_ml-100k_mf_lightgcn_ngcf_sgl_simgcl_32trials_view1",
                "retrain_tuned_autograph_ml-100k_mf_lightgcn_ngcf_sgl_simgcl_32trials_simgcl_v3"), "none", "4g", AFTER_FIXES),
    Comparison("ML-1M subset", "none (library defaults)", "template-only", "3", ("autograph_ml-1m-subset_main_0.25_3seeds",), "none", "4c"),
    Comparison("ML-1M subset", "none (library defaults)", "template-only", "3",
               ("autograph_ml-1m-subset_main_0.25_current",), "none", "4g", AFTER_FIXES),
    Comparison("ML-1M subset", "none (library defaults)", "SmolLM2-135M", "0 only",
           ("autograph_ml-1m-subset_main_0.25_smollm2_seed0",), "smollm2", "4c"),
    Comparison("ML-1M subset", "16 Optuna trials per side", "template-only", "3",
           tuple(f"tuned_autograph_ml-1m-subset_{m}" for m in BACKBONES), "none", "4d"),
)


def ndcg_by_run(path: Path) -> dict[tuple[str, str], list[float]]:
    """Test NDCG@20 per (backbone, variant), one value per seed, from either kind of result file."""
    payload = json.loads(path.read_text())
    out: dict[tuple[str, str], list[float]] = {}
    if "rows" in payload and payload["rows"] and "now" in payload["rows"][0]:
        for row in payload["rows"]:  # retrain_tuned.py: one row per study, retrained now per seed
            out[(row["model"], row["variant"])] = list(row["now"])
    elif "rows" in payload:  # bench_autograph.py / merge_autograph_results.py: one row per run
        for row in payload["rows"]:
            out.setdefault((row["model"], row["variant"]), []).append(row["test"]["ndcg@20"])
    elif "records" in payload:  # bench_tuned_autograph.py: one record per study, retrained per seed
        for rec in payload["records"]:
            out[(rec["model"], rec["variant"])] = [r["test"]["ndcg@20"] for r in rec["retrained"]]
    else:
        raise SystemExit(f"{path}: neither 'rows' nor 'records' in it; not a result file of §4")
    return out


def cell(values: dict, backbone: str, variant: str) -> str:
    base, ours = values.get((backbone, "vanilla")), values.get((backbone, variant))
    if not base or not ours:
        return "—"
    if len(base) != len(ours):
        raise SystemExit(f"{backbone}: {len(base)} vanilla seeds but {len(ours)} {variant} seeds in one column")
    b, o = statistics.mean(base), statistics.mean(ours)
    return f"{(o - b) / b * 100:+.1f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=str(RESULTS), help="folder of the result files")
    args = parser.parse_args()

    print("| dataset | tuning | profile text | seeds | code | " + " | ".join(NAMES[m] for m in BACKBONES) + " | details |")
    print("|---|---|---|---|---|" + "---|" * len(BACKBONES) + "---|")
    for comp in COMPARISONS:
        values: dict = {}
        for name in comp.files:
            path = Path(args.results) / f"{name}.json"
            if not path.is_file():
                raise SystemExit(f"{path}: missing (row {comp.dataset}, {comp.tuning}, {comp.text})")
            values.update(ndcg_by_run(path))
        cells = " | ".join(cell(values, m, comp.variant) for m in BACKBONES)
        print(f"| {comp.dataset} | {comp.tuning} | {comp.text} | {comp.seeds} | {comp.code} | {cells} | §{comp.section} |")

if __name__ == "__main__":
    main()
