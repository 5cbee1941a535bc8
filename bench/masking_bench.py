"""Time the personal-data masking of logs and the console on hostile input.

The console masks a dead letter's body and every log line is masked: both scan
text anyone can put on a topic. This prints the time per input size for the
shapes that made the old email pattern quadratic, next to that old pattern (up
to the size where it is still bearable), so linear growth is visible: doubling
the size should double the time.

    .venv/bin/python bench/masking_bench.py
    .venv/bin/python bench/masking_bench.py --sizes 100000 1000000 --old-up-to 50000
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable

from motcua.shared.logging import _mask_text

OLD_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
"""The pattern masking used before: retried from every position of a word."""

SHAPES: dict[str, Callable[[int], str]] = {
    "long word": lambda n: "a" * n,
    "word of dots": lambda n: "a." * (n // 2),
    "at signs": lambda n: "a@" * (n // 2),
    "digits": lambda n: "0" * n,
}


def _seconds(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[25_000, 50_000, 100_000, 1_000_000]
    )
    parser.add_argument("--old-up-to", type=int, default=50_000)
    args = parser.parse_args()
    print(f"{'shape':<14} {'characters':>10} {'masking s':>10} {'old email s':>12}")
    for shape, make in SHAPES.items():
        for size in args.sizes:
            text = make(size)
            new = _seconds(lambda t=text: _mask_text(t, limit=len(t)))
            old = (
                f"{_seconds(lambda t=text: OLD_EMAIL.sub('***@***', t)):12.3f}"
                if size <= args.old_up_to
                else f"{'(skipped)':>12}"
            )
            print(f"{shape:<14} {size:>10} {new:10.4f} {old}")


if __name__ == "__main__":
    main()
