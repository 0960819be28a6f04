"""One table from several `bench_autograph.py` result files (e.g. seed 0 run first, seeds 1-2 later).

Rows are keyed by (backbone, variant, seed); a key present in two files must carry the same
metrics (the same finished run reused), otherwise the merge stops. Files that record their
protocol (``args``, written since 2026-12-05) must agree on it (dataset, epochs, lr, dim,
``--autograph-set``, ``--split-seed``), otherwise the merge stops too; older files record none,
and the merged file lists them as unchecked, so their commands (in their .md) are the check.
Nothing is trained here. ``FILE::vanilla`` (or
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


#: The settings that make two result files' rows comparable (bench_autograph.py's arguments).
PROTOCOL = ("dataset", "epochs", "lr", "dim", "autograph_set", "split_seed")


def protocol(payload: dict) -> dict | None:
    """A result file's protocol settings, or None for a file that did not record its arguments."""
    args = payload.get("args")
    if args is None:
        return None
    return {k: sorted(args.get(k) or []) if k == "autograph_set" else args.get(k) for k in PROTOCOL}


def unchecked(inputs: list[str]) -> list[str]:
    """The input files that record no protocol, so the merge could not compare their settings."""
    return [text for text in inputs if protocol(json.loads(parse_input(text)[0].read_text())) is None]


def merge(inputs: list[str]) -> list[dict]:
    rows: dict[tuple, dict] = {}
    first: tuple[Path, dict] | None = None
    for text in inputs:
        path, variants = parse_input(text)
        payload = json.loads(path.read_text())
        settings = protocol(payload)
        if settings is not None:
            if first is not None and first[1] != settings:
                diff = {k: (first[1][k], settings[k]) for k in PROTOCOL if first[1][k] != settings[k]}
                raise SystemExit(f"{path}: run with other settings than {first[0]} ({diff}); not merging")
            first = first or (path, settings)
        taken = [row for row in payload["rows"] if variants is None or row["variant"] in variants]
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
    blind = unchecked(args.inputs)
    note = (f"- settings not compared for (no recorded arguments): {', '.join(f'`{_shown(t)}`' for t in blind)}\n"
            if blind else "")
    md = header(f"Merged AutoGraph results: seeds {seeds}",
                f"- merged from (each file's .md holds its command, date and settings):\n{sources}\n{note}")
    md += "\n" + table(rows, ("model", "variant")) + "\n"
    print(md)
    write_result(args.name, md, {"inputs": list(args.inputs), "rows": rows})


if __name__ == "__main__":
    main()
