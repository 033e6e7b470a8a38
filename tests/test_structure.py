"""The package's layering: models never read data; no module-level import cycles (the layout registry lives
with the built-in layouts, apart from the Layout class)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path


def imported_after(statement: str) -> set[str]:
    """The bharnet modules a fresh interpreter has loaded after ``statement``."""
    code = f"import sys; {statement}; print(' '.join(m for m in sys.modules if m.startswith('bharnet')))"
    return set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())


def test_models_do_not_import_the_data_package():
    loaded = imported_after("import bharnet.models")
    assert not {m for m in loaded if m.startswith("bharnet.data")}, loaded


def module_imports(root: Path) -> dict[str, set[str]]:
    """Each bharnet module (packages' __init__ left out: they only re-export) and the bharnet modules it
    imports at module level (imports inside functions are deliberate late imports)."""
    names = {}
    for path in root.rglob("*.py"):
        if path.name != "__init__.py":
            names[".".join(path.relative_to(root.parent).with_suffix("").parts)] = path
    graph = {}
    for name, path in names.items():
        targets = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        graph[name] = targets & set(names)
    return graph


def test_no_module_level_import_cycles():
    root = Path(__file__).resolve().parents[1] / "bharnet"
    graph = module_imports(root)
    # not even a late import: the Layout class knows nothing of the registry
    layout_source = (root / "skeleton" / "layout.py").read_text()
    assert not [n for n in ast.walk(ast.parse(layout_source)) if isinstance(n, ast.ImportFrom)
                and (n.module or "").startswith("bharnet.skeleton")]
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            assert state.get(target) != "open", "import cycle: " + " -> ".join([*path, module, target])
            if target not in state:
                visit(target, [*path, module])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_the_registry_holds_the_built_in_layouts():
    from bharnet.skeleton import layouts

    assert layouts.get_layout("hand21").num_joints == 21
    assert {"ntu25", "mediapipe_holistic75", "coco_wholebody133"} <= set(layouts.layout_names())
