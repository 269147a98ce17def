"""The credits section of the shipped model cards: every CC-BY / CC-BY-SA training photograph (licence, author,
source) from the data manifests, plus the BSDS citation and the licences of the rest.

    python scripts/credits.py ../shared/data/train-extra > runs/credits.md   # then --credits runs/credits.md
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path

HEADER = """### Credits

CBSD432: Berkeley Segmentation Dataset — D. Martin, C. Fowlkes, D. Tal, J. Malik, "A Database of Human Segmented
Natural Images and its Application to Evaluating Segmentation Algorithms and Measuring Ecological Statistics",
ICCV 2001; P. Arbelaez, M. Maire, C. Fowlkes, J. Malik, "Contour Detection and Hierarchical Image Segmentation",
TPAMI 2011 (free for non-commercial research and education).

Photographs under licences that ask for attribution (CC-BY, CC-BY-SA), each used as a training image only:
"""


def asks_attribution(licence: str) -> bool:
    """CC-BY and CC-BY-SA in any spelling ("CC-BY-SA-4.0", "CC-BY 2.0", ...)."""
    return "BY" in licence.upper().replace("-", " ").split()


def attribution_rows(root: Path) -> tuple[list[str], Counter]:
    """Markdown lines for the attribution-licensed photos under ``root`` and a count of every licence seen."""
    lines, licences = [], Counter()
    for manifest in sorted(root.rglob("manifest.csv")):
        if "cbsd432" in manifest.parts:
            continue
        for row in csv.DictReader(manifest.open(encoding="utf-8")):
            licences[row["licence"]] += 1
            if asks_attribution(row["licence"]):
                credit = " ".join(row["credit"].split())
                lines.append(f"- `{manifest.parent.name}/{row['file']}`: {credit} — {row['licence']}")
    return lines, licences


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root", type=Path, help="the train-extra folder (its photos/*/manifest.csv)")
    args = p.parse_args()
    lines, licences = attribution_rows(args.root)
    print(HEADER)
    print("\n".join(lines))
    rest = ", ".join(f"{name} ({n})" for name, n in licences.most_common() if not asks_attribution(name))
    print(f"\nThe other photographs: {rest}; the photos of Debian wallpaper packages: their package copyright files.")


if __name__ == "__main__":
    main()
