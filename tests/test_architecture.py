"""The house rules, checked on the source: imports flow one way between the layers, no
import cycle, and modules, classes and functions stay small.

Layers, lowest first: core ← documents ← stores ← retrieval ← reading ← service; evaluation
and training sit on top of the service; the CLI and the HTTP app (``api``) are shells
outside. A package may import its own modules and any lower layer, never a higher one.

A module, class or function may exceed its size limit only with a ``# size: <why>``
comment on its first line (for a module, anywhere in its first five lines).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.paths import ROOT

LAYERS = ["core", "documents", "stores", "retrieval", "reading", "conversation", "service"]
#: what each part of the code may import, beyond itself
ALLOWED = {
    **{layer: set(LAYERS[:i]) for i, layer in enumerate(LAYERS)},
    "evaluation": set(LAYERS),
    "training": {*LAYERS, "evaluation"},
    "models": set(),
    "cli": {*LAYERS, "evaluation", "training", "api"},
    "api": set(LAYERS),
}
MAX_MODULE, MAX_CLASS, MAX_FUNCTION = 300, 250, 60
SOURCES = ["rag", "api", "benchmarks", "scripts"]


def python_files(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.py") if ".venv" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    """The layer a module belongs to (``api`` for the HTTP app, ``cli`` for the commands)."""
    names = module.split(".")
    if names[0] == "api":
        return "api"
    if len(names) == 1:
        return "core"  # rag/__init__: lazy names only
    return "cli" if names[1] == "__main__" else names[1]


def imports(path: Path, module: str) -> set[str]:
    """The project modules ``path`` imports, at any depth (lazy imports included), but
    not under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {
        id(node)
        for top in ast.walk(tree)
        if isinstance(top, ast.If) and "TYPE_CHECKING" in ast.unparse(top.test)
        for node in ast.walk(top)
    }
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] in ("rag", "api")}


def graph() -> dict[str, set[str]]:
    """Module → the project modules it imports (names that are modules, not symbols)."""
    files = {module_name(p): p for p in python_files("rag", "api")}
    edges = {}
    for name, path in files.items():
        targets = {t for t in imports(path, name) if t in files and t != name}
        # importing a sibling runs the package's __init__, which is not a dependency
        edges[name] = targets - {name.rpartition(".")[0]} - _ancestors(name)
    return edges


def _ancestors(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def test_no_import_cycle():
    edges = graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" → ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_imports_flow_one_way():
    wrong = []
    for module, targets in graph().items():
        here = part_of(module)
        for target in targets:
            there = part_of(target)
            if there != here and there not in ALLOWED[here]:
                wrong.append(f"{module} ({here}) imports {target} ({there})")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def test_the_service_never_imports_training_or_evaluation():
    """A running server loads neither the training lab nor the SQuAD scorer."""
    for module, targets in graph().items():
        if part_of(module) in ("service", "api"):
            assert not {part_of(t) for t in targets} & {"training", "evaluation"}, module


def _declared(lines: list[str], lineno: int) -> bool:
    return "# size:" in lines[lineno - 1] or (lineno > 1 and "# size:" in lines[lineno - 2])


def oversized(path: Path) -> list[str]:
    text = path.read_text()
    lines = text.splitlines()
    where = path.relative_to(ROOT)
    found = []
    if len(lines) > MAX_MODULE and not any("# size:" in line for line in lines[:5]):
        found.append(f"{where}: {len(lines)} lines (max {MAX_MODULE})")
    for node in ast.walk(ast.parse(text, str(path))):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            limit = MAX_CLASS if isinstance(node, ast.ClassDef) else MAX_FUNCTION
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            size = node.end_lineno - first + 1
            if size > limit and not _declared(lines, node.lineno):
                found.append(f"{where}:{node.lineno} {node.name}: {size} lines (max {limit})")
    return found


@pytest.mark.parametrize("folder", SOURCES)
def test_modules_classes_and_functions_stay_small(folder):
    found = [line for path in python_files(folder) for line in oversized(path)]
    assert not found, "over the size limits:\n" + "\n".join(found)


def test_page_scripts_stay_small():
    found = {
        p.name: n
        for p in sorted((ROOT / "api" / "static").glob("*.js"))
        if (n := len(p.read_text().splitlines())) > MAX_MODULE
    }
    assert not found, f"page modules over {MAX_MODULE} lines: {found}"


def test_the_checker_sees_a_cycle_and_a_crossing(tmp_path):
    """The checks above would fail on a real problem (they are not vacuous)."""
    a = tmp_path / "a.py"
    a.write_text("from rag.service.pipeline import Pipeline\nimport rag.core.types\n")
    assert imports(a, "rag.stores.a") >= {"rag.service.pipeline", "rag.core.types"}
    assert "service" not in ALLOWED[part_of("rag.stores.a")]
    big = tmp_path / "big.py"
    big.write_text("def f():\n" + "    x = 1\n" * 70)
    big = big.rename(ROOT / "tests" / f"_tmp_size_probe_{tmp_path.name}.py")
    try:
        assert oversized(big) and "f: 71 lines" in oversized(big)[0]
    finally:
        big.unlink()
