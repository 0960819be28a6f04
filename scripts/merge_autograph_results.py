"""One table from several `bench_autograph.py` result files (e.g. seed 0 run first, seeds 1-2 later).

Rows are keyed by (backbone, variant, seed); a key present in two files must carry the same
metrics (the same finished run reused), otherwise the merge stops — results of different
settings are never averaged together. Nothing is trained here. ``FILE::vanilla`` (or
``FILE::vanilla,none``) takes only those variants' rows of a file, e.g. the vanilla rows of an
earlier run beside a rerun of the AutoGraph rows after a fix that left the vanilla code as it was.

    python scripts/merge_autograph_results.py --name autograph_ml-1m-subset_main_3seeds \\
        docs/results/autograph_ml-1m-subset_main_mf_lightgcn_ngcf_sgl_simgcl.json \\
        docs/results/autograph_ml-1m-subset_main_mf_lightgcn.json \\
        docs/results/autograph_ml-1m-subset_main_ngcf_sgl_simgcl.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import ROOT, header, write_result  # noqa: E402
from bench_autograph import table  # noqa: E402


def parse_input(text: str) -> tuple[Path, set[str] | None]:
    """``FILE`` or ``FILE::variant[,variant...]`` -> (path, the variants to take or None for all)."""
    path, sep, variants = text.partition("::")
    if sep and not variants:
        raise SystemExit(f"{text}: no variant after '::'")
    return Path(path), (set(variants.split(",")) if sep else None)


def merge(inputs: list[str]) -> list[dict]:
    rows: dict[tuple, dict] = {}
    for text in inputs:
        path, variants = parse_input(text)
        taken = [row for row in json.loads(path.read_text())["rows"] if variants is None or row["variant"] in variants]
        if variants and not taken:
            raise SystemExit(f"{path}: no row of variant(s) {sorted(variants)}")
        for row in taken:
            key = (row["model"], row["variant"], row["seed"])
            if key in rows and (rows[key]["test"], rows[key]["valid"]) != (row["test"], row["valid"]):
                raise SystemExit(f"{path}: row {key} differs from the same row in an earlier file; not merging")
            rows.setdefault(key, row)
    # backbones in order of first appearance, vanilla rows first; otherwise the files' order
    order = {m: i for i, m in enumerate(dict.fromkeys(k[0] for k in rows))}
    return sorted(rows.values(), key=lambda r: (order[r["model"]], r["variant"] != "vanilla"))


def _shown(text: str) -> str:
    path, variants = parse_input(text)
    name = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
    return f"{name}" + (f" (rows of {', '.join(sorted(variants))})" if variants else "")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", help="bench_autograph.py result JSON files, each optionally FILE::variant,...")
    p.add_argument("--name", required=True, help="result file name under docs/results/ (without suffix)")
    args = p.parse_args()
    rows = merge(args.inputs)
    seeds = sorted({r["seed"] for r in rows})
    sources = "\n".join(f"  - `{_shown(text)}`" for text in args.inputs)
    md = header(f"Merged AutoGraph results: seeds {seeds}", f"- merged from (each file's .md holds its command, date and settings):\n{sources}\n")
    md += "\n" + table(rows, ("model", "variant")) + "\n"
    print(md)
    write_result(args.name, md, {"inputs": list(args.inputs), "rows": rows})


if __name__ == "__main__":
    main()
