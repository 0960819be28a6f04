"""Data flows one way through the stages: a stage package never imports a later one."""

import ast
from pathlib import Path

import autograph_rec

# the stage packages in data-flow order (docs/guide.md, "Stages and where they live")
ORDER = ["data", "llm", "profiling", "encode", "quantize", "graph", "nn", "train", "eval", "report", "hpo"]
# deliberate exceptions: training validates with the ranking evaluator (early stopping on valid),
# and the search drives whole pipeline runs, as the CLI does
ALLOWED = {("train", "eval"), ("hpo", "pipeline")}
ORCHESTRATION = {"pipeline", "cli"}


def imported_packages(path: Path, package_root: Path) -> set[str]:
    """First-level ``autograph_rec`` modules that ``path`` imports (absolute or relative)."""
    here = path.relative_to(package_root).parts[:-1]  # the file's package, as parts below autograph_rec
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[: len(here) - (node.level - 1)]) if node.level - 1 <= len(here) else []
                parts = base + (node.module.split(".") if node.module else [])
                names = [parts[0]] if parts else [alias.name for alias in node.names]
            elif node.module and node.module.split(".")[0] == "autograph_rec":
                names = node.module.split(".")[1:2] or [alias.name for alias in node.names]
            else:
                continue
            found.update(names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("autograph_rec."))
    return found


def test_no_stage_imports_a_later_stage_or_the_orchestration():
    root = Path(autograph_rec.__file__).parent
    bad = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        stage = parts[0] if len(parts) > 1 else None
        if stage not in ORDER:
            continue
        for target in imported_packages(path, root):
            later = target in ORDER and ORDER.index(target) > ORDER.index(stage)
            if (later or target in ORCHESTRATION) and (stage, target) not in ALLOWED:
                bad.append(f"{path.relative_to(root)} imports autograph_rec.{target}")
    assert not bad, "\n".join(bad)


def test_the_checker_sees_relative_and_absolute_imports(tmp_path):
    pkg = tmp_path / "autograph_rec" / "graph"
    pkg.mkdir(parents=True)
    src = pkg / "x.py"
    src.write_text("from ..train import Trainer\nfrom autograph_rec.nn.base import X\nimport autograph_rec.eval.metrics\n"
                   "from . import y\nfrom .. import report\n")
    assert imported_packages(src, tmp_path / "autograph_rec") == {"train", "nn", "eval", "graph", "report"}


def test_importing_the_package_loads_no_optional_dependency():
    # each extra (pyproject [project.optional-dependencies]) is imported where it is used, with an
    # error naming the extra; importing the package and its stages must not need any of them
    import subprocess
    import sys

    heavy = ["transformers", "sentence_transformers", "optuna", "matplotlib", "httpx", "llama_cpp", "gguf",
             "accelerate", "psycopg2"]
    modules = ["autograph_rec", "autograph_rec.cli", "autograph_rec.pipeline"] + [f"autograph_rec.{s}" for s in ORDER]
    code = (f"import sys, importlib\nfor m in {modules!r}: importlib.import_module(m)\n"
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    assert out == "", f"imported at package import time: {out}"
