"""Re-judge stored LLM profiles with the current quality checks.

    python scripts/audit_profiles.py runs/bench_autograph/ml-100k/lightgcn-smollm2-seed1

Reads ``profiles/users.jsonl`` and ``profiles/items.jsonl`` of each run folder (or a profiles
folder itself) and counts, per kind, the status each row was stored with and the verdict
:func:`autograph_rec.profiling.check_output` gives its text today, with a few example texts per
verdict that is not usable, and the stored verdict of each row's first attempt (which check cost the
retries). Use it after the checks change, to see how much of an earlier run's
profile text was noise. No model is loaded and nothing is written. Rows keep their prompt since
2026-12-04; for older runs, whose rows do not, the ``echo`` check (output copying its prompt) is
not re-run and a refusal phrase quoting the prompt (a title such as "I Can't Sleep") counts as a
refusal. Every other check is re-run as the profiler runs it. A row whose output was rejected and
replaced by its template text (status ``<verdict>->template_only``) is judged on the rejected
output, kept in ``llm_text`` since 2026-12-04 (older such rows keep their stored verdict); rows the
LLM never saw (status ``template_only``) are counted apart and not judged.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from autograph_rec.llm.base import Generation
from autograph_rec.profiling import USABLE, check_output, first_verdict


def profiles_dir(path: Path) -> Path:
    if (path / "users.jsonl").is_file():
        return path
    if (path / "profiles" / "users.jsonl").is_file():
        return path / "profiles"
    raise SystemExit(f"{path}: no users.jsonl in it or in its profiles/ folder")


def counts(values) -> str:
    return ", ".join(f"{k} {n}" for k, n in Counter(values).most_common())


def llm_output(row: dict) -> str | None:
    """The LLM's own output for a row: a rejected one that fell back to template text keeps it in
    ``llm_text`` (since 2026-12-04); older fallback rows did not store it (``None``)."""
    if row.get("status", "").endswith("->template_only"):
        return row.get("llm_text")
    return row["text"]


def judge(row: dict, text: str | None) -> str:
    """Today's verdict on a row's LLM output; the stored one when that output was not kept."""
    if text is None:
        return row["status"].split("->")[0]
    return check_output(Generation(text, finish_reason=row.get("finish_reason") or "stop"), prompt=row.get("prompt") or "")


def audit(path: Path, examples: int) -> str:
    lines = [f"### {path}", "", "| kind | rows | first attempt (stored) | stored status | verdict now | not usable now |",
             "|---|---|---|---|---|---|"]
    shown = []
    for kind in ("users", "items"):
        stored = [json.loads(x) for x in (profiles_dir(path) / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines()]
        # rows the LLM never saw (--llm none, or past llm.limit) carry only their template text
        rows = [r for r in stored if r.get("status") != "template_only"]
        skipped = len(stored) - len(rows)
        if not rows:
            lines.append(f"| {kind} | {len(stored)} | template-only text, no LLM | | | |")
            continue
        outputs = [llm_output(r) for r in rows]
        verdicts = [judge(r, text) for r, text in zip(rows, outputs)]
        bad = sum(v not in USABLE for v in verdicts)
        lines.append(f"| {kind} | {len(rows)}{f' (+{skipped} template-only, not judged)' if skipped else ''} | "
                     f"{counts(first_verdict(r.get('failures') or '', r.get('status', ''), r.get('kept_attempt')) for r in rows)} | "
                     f"{counts(r.get('status') for r in rows)} | "
                     f"{counts(verdicts)} | {bad} ({bad / max(len(rows), 1):.1%}) |")
        for verdict, n in Counter(v for v in verdicts if v not in USABLE).most_common():
            texts = Counter(t or "(output not stored)" for t, v in zip(outputs, verdicts) if v == verdict).most_common(examples)
            shown += [f"- {kind}, {verdict}, ×{k}: `{t[:120].replace(chr(10), ' / ')}`" for t, k in texts]
    return "\n".join(lines + ([""] + shown if shown else [])) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path, help="run folders or profiles folders")
    parser.add_argument("--examples", type=int, default=3, help="most frequent texts shown per unusable verdict")
    args = parser.parse_args()
    print("\n".join(audit(p, args.examples) for p in args.paths))


if __name__ == "__main__":
    main()
