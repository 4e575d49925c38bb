"""Files and lines of Python per folder of ``src/numtorch`` (for layout reviews).

    python tools/tree_stats.py [ROOT]

Prints one row per folder (files directly in it, their lines) and a total.
"""

import sys
from pathlib import Path


def stats(root):
    """``{folder: (files, lines)}`` for the ``*.py`` files directly in each folder under root."""
    rows = {}
    for path in sorted(root.rglob("*.py")):
        folder = path.parent.relative_to(root.parent).as_posix()
        files, lines = rows.get(folder, (0, 0))
        with path.open("rb") as f:
            rows[folder] = (files + 1, lines + sum(1 for _ in f))
    return rows


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0] if argv else Path(__file__).resolve().parents[1] / "src" / "numtorch")
    rows = stats(root)
    width = max(map(len, rows)) if rows else 6
    print(f"{'folder':<{width}}  {'files':>5}  {'lines':>7}")
    for folder, (files, lines) in rows.items():
        print(f"{folder:<{width}}  {files:>5}  {lines:>7}")
    print(f"{'total':<{width}}  {sum(f for f, _ in rows.values()):>5}  "
          f"{sum(n for _, n in rows.values()):>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
