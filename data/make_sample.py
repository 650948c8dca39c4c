"""Write `app/sample/sample.json`: the hand-readable sample problem of rackplan.

Four US sites (Houston, Phoenix - no DST -, Columbus, San Jose), three rack generations
(GB200 and GB300 NVL72 compute racks, a switch rack) routed assembly -> test -> burn_in,
burn-in bays under a site power cap that binds, two or three shifts a day, Christmas and
New Year as holidays, maintenance windows, and 39 orders (430 racks) due over
December 2026 and early January 2027, a third of them tight. The load keeps the busiest
pools around 75-85 % busy over five weeks, so a good schedule exists in four to six.

The file is package data: the service loads it into an empty database, and
``rackplan sample`` writes a copy. This script is its one source; run it from the
repository root: ``python data/make_sample.py`` (``--check`` only compares).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `bench` and `solver` importable
    sys.path.insert(0, str(ROOT))

from bench.instances import dumps, generate  # noqa: E402

SAMPLE = ROOT / "app" / "sample" / "sample.json"
RACKS = 430
SEED = 2026
SITES = 4
WEEKS = 5
START = "2026-12-01T00:00:00Z"


def make_sample() -> dict[str, Any]:
    """The sample problem as a dict (deterministic)."""
    problem = generate(
        RACKS, SEED, n_sites=SITES, weeks=WEEKS, tight_fraction=0.3, steps=3, start=START
    )
    return {"name": "dec-2026-sample", **{k: v for k, v in problem.items() if k != "name"}}


def main(argv: Sequence[str] | None = None) -> int:
    """Write the sample (or, with ``--check``, exit 1 when the file is out of date)."""
    ap = argparse.ArgumentParser(description="write app/sample/sample.json")
    ap.add_argument("--check", action="store_true", help="only compare with the file")
    args = ap.parse_args(argv)
    text = dumps(make_sample()) + "\n"
    if args.check:
        same = SAMPLE.exists() and SAMPLE.read_text(encoding="utf-8") == text
        sys.stderr.write("" if same else f"{SAMPLE} is out of date\n")
        return 0 if same else 1
    SAMPLE.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
