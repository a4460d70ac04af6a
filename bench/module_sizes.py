"""Module sizes under src/huitouke: how many modules, the median lines, the largest.

A module is a .py file outside migrations/ (__init__.py included only when it has code).
Lines are physical lines. Usage: python bench/module_sizes.py [ROOT] [--top N]
Compare two trees: git archive <commit> src | tar -x -C /tmp/old && python bench/module_sizes.py /tmp/old/src/huitouke
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path


def sizes(root: Path) -> dict[str, int]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        lines = path.read_text(encoding="utf-8").count("\n")
        if path.name == "__init__.py" and lines == 0:
            continue
        found[path.relative_to(root).as_posix()] = lines
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "root", nargs="?", default=str(Path(__file__).parent.parent / "src/huitouke")
    )
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    found = sizes(Path(args.root))
    print(f"modules {len(found)}, median {statistics.median(found.values()):g} lines")
    for name, lines in sorted(found.items(), key=lambda item: (-item[1], item[0]))[: args.top]:
        print(f"{lines:6d}  {name}")


if __name__ == "__main__":
    main()
