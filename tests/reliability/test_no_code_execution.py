"""No data file can make the package run code: the source is scanned for the ways it could.

Forbidden anywhere in ``openretina_data`` and ``app``: loading with ``allow_pickle=True``,
``exec``/``eval`` (``ast.literal_eval`` is fine), ``yaml.load`` and its unsafe cousins,
``pickle.load``/``loads``, ``torch.load`` without ``weights_only=True``, ``marshal``,
``shell=True`` and ``os.system``. Unpicklers may exist only as the restricted ones,
which override ``find_class``. A planted snippet proves the scanner finds each pattern.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("openretina_data", "app")
RESTRICTED_UNPICKLERS = {"openretina_data/safe_pickle.py", "openretina_data/sources/suite2p.py"}

FORBIDDEN: dict[str, re.Pattern[str]] = {
    "allow_pickle=True": re.compile(r"allow_pickle\s*=\s*True"),
    "exec/eval": re.compile(r"(?<![\w.])(exec|eval)\s*\("),
    "yaml.load": re.compile(r"yaml\.(load|load_all|unsafe_load|full_load|unsafe_load_all)\s*\("),
    "unsafe YAML loader": re.compile(r"\b(UnsafeLoader|FullLoader|yaml\.Loader)\b"),
    "pickle.load": re.compile(r"\b(c?pickle|dill|cloudpickle|joblib)\.loads?\s*\("),
    "marshal": re.compile(r"\bmarshal\.loads?\s*\("),
    "torch.load": re.compile(r"torch\.load\s*\((?![^)]*weights_only\s*=\s*True)"),
    "shell": re.compile(r"shell\s*=\s*True|os\.system\s*\(|os\.popen\s*\("),
}


def _allowed(name: str, relative: str, line: str) -> bool:
    # Test factories write pickled ops.npy files as suite2p does; writing runs nothing.
    return (
        name == "allow_pickle=True"
        and relative.startswith("openretina_data/testing/")
        and "np.save(" in line
    )


def scan(text: str, relative: str) -> list[str]:
    """Every forbidden call in ``text`` (a module at ``relative``), as ``file:line: what``."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        for name, pattern in FORBIDDEN.items():
            if pattern.search(code) and not _allowed(name, relative, code):
                found.append(f"{relative}:{number}: {name}: {line.strip()}")
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            "Unpickler" in ast.unparse(base) for base in node.bases
        ):
            methods = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
            if relative not in RESTRICTED_UNPICKLERS or "find_class" not in methods:
                found.append(f"{relative}:{node.lineno}: unrestricted unpickler {node.name}")
    return found


def _sources() -> list[Path]:
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    assert len(files) > 50
    return sorted(files)


def test_no_code_execution_from_data_in_the_source() -> None:
    found = []
    for path in _sources():
        found += scan(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    "snippet",
    [
        "x = np.load(path, allow_pickle=True)",
        "value = eval(text)",
        "exec(code)",
        "data = yaml.load(text)",
        "data = yaml.load(text, Loader=yaml.FullLoader)",
        "data = pickle.load(handle)",
        "data = pickle.loads(blob)",
        "model = torch.load(path)",
        "subprocess.run(cmd, shell=True)",
        "class Loose(pickle.Unpickler):\n    pass",
    ],
)
def test_the_scanner_finds_each_forbidden_pattern(snippet: str) -> None:
    assert scan(snippet, "openretina_data/planted.py")


@pytest.mark.parametrize(
    "snippet",
    [
        "params = ast.literal_eval(node)",
        "module.eval()",
        "data = yaml.safe_load(text)",
        "weights = torch.load(path, weights_only=True)",
        "x = np.load(path, allow_pickle=False)",
    ],
)
def test_the_scanner_lets_safe_calls_pass(snippet: str) -> None:
    assert scan(snippet, "openretina_data/planted.py") == []
