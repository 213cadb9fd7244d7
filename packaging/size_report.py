"""Print the bundle's size and what dominates it (run by ``make bundle``).

python packaging/size_report.py APP_DIR [TARBALL] [BUILD_SECONDS]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def tree_size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(tree_size(child) for child in path.iterdir())


def mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def main(argv: list[str]) -> int:
    app = Path(argv[0])
    total = tree_size(app)
    lines = [f"bundle {app}: {mib(total)}"]
    if len(argv) > 1 and Path(argv[1]).is_file():
        lines[0] += f"; {Path(argv[1]).name}: {mib(os.path.getsize(argv[1]))}"
    if len(argv) > 2:
        lines[0] += f"; built in {int(argv[2])} s"
    internal = app / "_internal"
    parts = [*(p for p in app.iterdir() if p != internal), *internal.iterdir()]
    sizes = sorted(((tree_size(p), p) for p in parts), reverse=True)
    lines.append("largest parts:")
    lines += [
        f"  {mib(size):>9}  {100 * size / total:4.1f} %  {p.relative_to(app)}"
        for size, p in sizes[:8]
    ]
    files = sorted(((f.lstat().st_size, f) for f in app.rglob("*") if f.is_file()), reverse=True)
    lines.append("largest files:")
    lines += [f"  {mib(size):>9}  {f.relative_to(app)}" for size, f in files[:5]]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
