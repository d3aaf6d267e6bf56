"""The layout's promises (issue 12): no import cycle among bot's modules, in-function imports
included; few modules loose in bot/; every topic's rules importing nothing but the clock."""
from __future__ import annotations

import ast
from pathlib import Path

from bot.config import ROOT

BOT = ROOT / "bot"


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module(p): p for p in BOT.rglob("*.py")}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every bot module this file imports, anywhere in it (functions included). `from a import
    b` counts as importing a.b when that is a module, else a."""
    name = _module(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([node.module] if node.module else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in modules:
                    found.add(target)
                elif base in modules:
                    found.add(base)
    # a module importing its own package's __init__ (or an ancestor's) does not count
    return {m for m in found if m != name and not name.startswith(m + ".")}


def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) for name, path in modules.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_among_bots_modules():
    cycle = find_cycle(graph())
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_at_most_eight_modules_directly_in_bot():
    loose = sorted(p.name for p in BOT.glob("*.py"))
    assert len(loose) <= 8, loose


def test_rules_import_nothing_but_the_clock():
    edges = graph()
    for name in [m for m in edges if m.endswith(".rules")]:
        assert edges[name] <= {"bot.clock"}, (name, edges[name])


def test_a_leave_request_runs_through_at_most_fifteen_files(tmp_path):
    """Traced from wsgi.py's app to the reply (bench/trace.py, in its own process)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, ZHIBU_INSTANCE=str(tmp_path / "instance"))
    done = subprocess.run([sys.executable, "bench/trace.py"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    head, *files = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    assert int(head.split()[0]) == len(files) and 0 < len(files) <= 15, done.stdout
    assert "bot/handlers/meetings.py" in files and "bot/meetings/attendance.py" in files
