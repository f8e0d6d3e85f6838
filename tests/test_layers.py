"""Imports inside skalign point only downward (docs: DESIGN.md, section 1).

Every module under ``skalign/`` is parsed with :mod:`ast`; relative imports
are resolved to absolute module names. The rules below are data: each
top-level part of the package (``skalign.<part>``) lists the parts it may
import. Function-level imports count for the layering rules too (moving an
import into a function does not make an upward import right); only
module-level imports can form an import cycle.
"""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "skalign"

#: The root package holds ``__version__`` and re-exports the configuration
#: functions of ``_config`` (which imports nothing from skalign); every part
#: may read it.
ROOT = "skalign"
ROOT_IMPORTS = {"_config"}
FAMILIES = {"preference", "ranking", "fairness", "calibration", "ordinal"}
#: Layers 1 to 5, bottom first; a part may import its own layer and those below.
LAYERS = [
    {"_loss"},
    {"nn"},
    {"utils", "exceptions", "_docstrings", "_config"},
    {"_engine", "_solver", "_inference", "_distributed"},
    FAMILIES,
]


def _layered(index):
    return set().union(*LAYERS[: index + 1])


#: What each part may import (besides itself and the root package).
ALLOWED = {part: _layered(i) for i, layer in enumerate(LAYERS) for part in layer}
# Cross-cutting: metrics imports layers 1-3 only, so the families can use it.
ALLOWED["metrics"] = _layered(2)
for _family in FAMILIES:
    ALLOWED[_family] = ALLOWED[_family] | {"metrics"}
# At the top: data sets, the testing helpers and the demo.
ALLOWED["datasets"] = _layered(4) | {"metrics"}
ALLOWED["testing"] = ALLOWED["datasets"] | {"datasets"}
ALLOWED["demo"] = ALLOWED["datasets"] | {"datasets"}
# Inference across families: the leaderboard fits a preference model, and the
# public ``skalign.inference`` re-exports it with the engine-level functions.
ALLOWED["_leaderboard"] = _layered(4) | {"metrics"}
ALLOWED["inference"] = ALLOWED["_leaderboard"] | {"_leaderboard"}
# The public face of the engine's data-parallel fit.
ALLOWED["distributed"] = _layered(3)

#: Outside skalign, the loss layer imports only these and the standard library.
LOSS_THIRD_PARTY = {"torch", "numpy"}


def _module_name(path):
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules():
    return {_module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


MODULES = _modules()


class _Import:
    """One imported module: where, what, and whether inside a function."""

    def __init__(self, source, line, target, in_function):
        self.source, self.line = source, line
        self.target, self.in_function = target, in_function

    def where(self):
        path = MODULES[self.source].relative_to(PACKAGE_DIR.parent)
        return f"{path}:{self.line}: {self.source} -> {self.target}"


def _resolve(source, node):
    """Absolute names of the modules that an import statement imports."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        package = source.split(".")
        if MODULES[source].name != "__init__.py":
            package = package[:-1]
        base = package[: len(package) - (node.level - 1)]
        base = ".".join(base + ([node.module] if node.module else []))
    else:
        base = node.module
    # ``from package import submodule`` imports the submodule.
    submodules = [f"{base}.{alias.name}" for alias in node.names]
    found = [name for name in submodules if name in MODULES]
    return found if len(found) == len(submodules) else [base, *found]


def _imports(source):
    tree = ast.parse(MODULES[source].read_text(encoding="utf-8"))
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend(
                    _Import(source, child.lineno, target, in_function)
                    for target in _resolve(source, child)
                )
            visit(
                child,
                in_function
                or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)),
            )

    visit(tree, False)
    return found


IMPORTS = [imp for source in MODULES for imp in _imports(source)]


def _part(module):
    """``skalign.<part>`` of a skalign module, ``ROOT`` for the root."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT


def _internal(imports):
    return [imp for imp in imports if imp.target.split(".")[0] == ROOT]


def _layer_problem(source, target):
    """Why the import of module ``target`` by module ``source`` breaks the
    layering, or ``None``."""
    a, b = _part(source), _part(target)
    if a == ROOT:
        return None if b in ROOT_IMPORTS else f"the root package may not import {b}"
    if b not in ALLOWED.get(a, set()) | {a, ROOT}:
        return f"{a} may not import {b}"
    private = any(name.startswith("_") for name in target.split(".")[2:])
    if a in FAMILIES and b in FAMILIES and a != b and private:
        return f"a private module of the {b} family"
    return None


def _report(problems, what):
    return f"{len(problems)} {what}:\n" + "\n".join(sorted(set(problems)))


def test_every_part_has_rules():
    parts = {_part(module) for module in MODULES} - {ROOT}
    assert parts <= set(ALLOWED), f"no layering rule for {parts - set(ALLOWED)}"


def test_imports_point_downward_and_not_into_other_families():
    problems = []
    for imp in _internal(IMPORTS):
        problem = _layer_problem(imp.source, imp.target)
        if problem:
            problems.append(f"{imp.where()} ({problem})")
    assert not problems, _report(problems, "imports against the layering")


def test_root_package_imports_only_the_configuration():
    problems = [
        imp.where()
        for imp in _internal(IMPORTS)
        if imp.source == ROOT and _part(imp.target) not in ROOT_IMPORTS
    ]
    assert not problems, _report(problems, "imports in the root package")


def test_loss_layer_imports_only_torch_numpy_and_the_standard_library():
    problems = []
    for imp in IMPORTS:
        top = imp.target.split(".")[0]
        allowed = LOSS_THIRD_PARTY | set(sys.stdlib_module_names) | {ROOT}
        if _part(imp.source) == "_loss" and top not in allowed:
            problems.append(f"{imp.where()} (the loss layer may not import {top})")
    assert not problems, _report(problems, "third-party imports in the loss layer")


def _graph():
    """Module-level import edges between skalign modules.

    Importing ``skalign.a.b`` first runs ``skalign.a``'s ``__init__``, so
    the edge reaches every package above the target too, except packages
    that contain the importer (they are already being imported).
    """
    edges = {}
    for imp in _internal(IMPORTS):
        if imp.in_function:
            continue
        parts = imp.target.split(".")
        targets = {imp.target} | {".".join(parts[:i]) for i in range(2, len(parts))}
        for target in targets:
            inside = imp.source == target or imp.source.startswith(target + ".")
            if target in MODULES and not inside:
                edges.setdefault(imp.source, {}).setdefault(target, imp)
    return edges


def _find_cycle(edges):
    """One cycle of the graph as a list of imports, or ``None``."""
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for target, imp in edges.get(node, {}).items():
            if state.get(target) == "open":
                start = next(i for i, e in enumerate(stack) if e.source == target)
                return [*stack[start:], imp]
            if target not in state:
                cycle = visit(target, [*stack, imp])
                if cycle:
                    return cycle
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            cycle = visit(node, [])
            if cycle:
                return cycle
    return None


def test_no_import_cycles():
    cycle = _find_cycle(_graph())
    assert cycle is None, "import cycle:\n" + "\n".join(imp.where() for imp in cycle)


@pytest.mark.parametrize(
    "source, target, expected",
    [
        ("skalign.metrics._listwise", "skalign.ranking._sampling", "upward"),
        ("skalign._loss.listwise", "skalign.preference", "upward"),
        ("skalign.metrics._fairness", "skalign.fairness._encoding", "upward"),
        ("skalign.utils._groups", "skalign._engine", "upward"),
        ("skalign.ranking._rankers", "skalign.fairness._penalty", "private"),
        ("skalign.ranking._rankers", "skalign.fairness", None),
        ("skalign.preference._reward", "skalign.metrics", None),
        ("skalign.utils._penalty", "skalign._loss.dependence", None),
        ("skalign.demo", "skalign.calibration._display", None),
    ],
)
def test_rules_classify_known_edges(source, target, expected):
    """The rules on edges that once were (or still are) in skalign."""
    problem = _layer_problem(source, target)
    got = None if problem is None else "private" if "private" in problem else "upward"
    assert got == expected


def test_cycle_finder_on_a_small_graph():
    a_b, b_c, c_a = (
        _Import(s, 1, t, False) for s, t in (("a", "b"), ("b", "c"), ("c", "a"))
    )
    cycle = _find_cycle({"a": {"b": a_b}, "b": {"c": b_c}, "c": {"a": c_a}})
    assert [(imp.source, imp.target) for imp in cycle] == [
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
    ]
    assert _find_cycle({"a": {"b": a_b}, "b": {"c": b_c}}) is None
