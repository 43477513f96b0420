"""The four folders are four floors: rewards (1) <- data (2) <- train (3) <- audit_app (4).

Every import is read from the source (at module level and inside functions alike): none
may go up a floor, the module graph may hold no cycle, rewards import no framework, an
import inside a function that reaches another project module says why in a comment (an
optional heavy dependency, or Unsloth's import order), and no module grows far past
350 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOORS = {"rewards": 1, "data": 2, "train": 3, "audit_app": 4}
# Pure scoring: what rewards/ must never import.
NOT_IN_REWARDS = {"streamlit", "torch", "transformers", "trl", "peft", "datasets", "sqlite_utils", "plotly"}
MAX_LINES = 380


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for pkg in FLOORS for p in sorted((ROOT / pkg).rglob("*.py"))}


def _resolve(target: str) -> str | None:
    """The project module an import names (`a.b.c` may be module a.b's attribute c)."""
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        if name in MODULES:
            return name
    return None


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported name, line, inside a function) for every absolute import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_function = {id(sub) for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                   for sub in ast.walk(node) if isinstance(sub, ast.Import | ast.ImportFrom)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
        else:
            assert not isinstance(node, ast.ImportFrom), f"{path}:{node.lineno}: relative import"
            continue
        out += [(name, node.lineno, id(node) in in_function) for name in names]
    return out


GRAPH = {m: {(r, line, lazy) for name, line, lazy in _imports(p) if (r := _resolve(name)) and r != m}
         for m, p in MODULES.items()}


def test_every_folder_is_a_package_and_the_graph_is_not_empty():
    assert {m.split(".")[0] for m in MODULES} == set(FLOORS)
    assert sum(len(v) for v in GRAPH.values()) > 100


def test_no_import_goes_up_a_floor():
    up = [f"{MODULES[m].relative_to(ROOT)}:{line} imports {r}"
          for m, deps in GRAPH.items() for r, line, _ in deps
          if FLOORS[r.split(".")[0]] > FLOORS[m.split(".")[0]]]
    assert not up, "\n".join(up)


def test_the_module_graph_has_no_cycle():
    edges = {m: {r for r, _, _ in deps} for m, deps in GRAPH.items()}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    cycles = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for r in sorted(edges[m]):
            if state.get(r) == 1:
                cycles.append(" -> ".join(path[path.index(r):] + [r]))
            elif r not in state:
                visit(r, path + [r])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    assert not cycles, "\n".join(cycles)


def test_rewards_are_pure():
    bad = [f"{p.relative_to(ROOT)}:{line} imports {name}"
           for m, p in MODULES.items() if m.startswith("rewards")
           for name, line, _ in _imports(p) if name.split(".")[0] in NOT_IN_REWARDS | set(FLOORS) - {"rewards"}]
    assert not bad, "\n".join(bad)


def test_imports_inside_functions_say_why():
    """A project import inside a function is allowed for a heavy optional dependency, and
    then a comment on its line or just above says so; never to dodge a cycle."""
    silent = []
    for m, deps in GRAPH.items():
        lines = MODULES[m].read_text(encoding="utf-8").splitlines()
        for r, line, lazy in deps:
            if lazy and not any("#" in text for text in lines[max(0, line - 3):line]):
                silent.append(f"{MODULES[m].relative_to(ROOT)}:{line} imports {r} inside a function")
    assert not silent, "\n".join(silent)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module):
    n = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{MODULES[module].relative_to(ROOT)} has {n} lines; split it by job"
