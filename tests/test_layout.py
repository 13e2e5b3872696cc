"""The shape of the package that lint-imports does not check: no import cycle between any
two modules (imports inside functions and under TYPE_CHECKING count), no module over 400
lines, and a package root of at most three modules besides `__init__` and `__main__`
(everything else lives in a folder that names its layer). These tests only read the
source; they must never import the modules they look at."""

from __future__ import annotations

from collections.abc import Mapping, Set
from pathlib import Path

import grimp

PACKAGE = Path(__file__).resolve().parent.parent / "colony_actor"
MOST_LINES = 400
MOST_ROOT_MODULES = 3


def imports_of(package: str) -> dict[str, set[str]]:
    """Each module of `package` and the modules of ours it imports directly."""
    graph = grimp.build_graph(package, cache_dir=None)
    return {module: graph.find_modules_directly_imported_by(module)
            for module in graph.modules}


def cycles(graph: Mapping[str, Set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module in `graph` (module ->
    the modules it imports): Tarjan's, iterative, so that a deep chain of imports cannot
    hit Python's recursion limit."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a", "p.d"}, "p.d": set()}
    assert cycles(graph) == [{"p.a", "p.b", "p.c"}]
    assert cycles({"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": set()}) == []


def test_no_module_imports_itself_back() -> None:
    graph = imports_of("colony_actor")
    assert len(graph) > 100
    assert cycles(graph) == []


def test_no_module_is_over_400_lines() -> None:
    long = {str(path.relative_to(PACKAGE)): lines for path in PACKAGE.rglob("*.py")
            if (lines := len(path.read_text().splitlines())) > MOST_LINES}
    assert long == {}


def test_the_package_root_holds_at_most_three_modules() -> None:
    root = {path.name for path in PACKAGE.glob("*.py")} - {"__init__.py", "__main__.py"}
    assert len(root) <= MOST_ROOT_MODULES, sorted(root)
