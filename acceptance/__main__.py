"""Run the product over every set in the shared corpus and judge each figure.

Each set script in this folder prints one or more lines
``acceptance: SET NAME=V ... threshold=T PASS|FAIL`` and exits non-zero when
a figure falls below its threshold. This runner adds the closing line
``acceptance: all sets=N pass=N`` and exits non-zero if any set failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main(argv: list[str]) -> int:
    corpus = Path(argv[0] if argv else "../shared/corpus").resolve()
    if not corpus.is_dir():
        print(f"acceptance: no corpus at {corpus}; nothing to run")
        print("acceptance: all sets=0 pass=0")
        return 0

    sets = passed = 0
    for script in sorted(HERE.glob("*.py")):
        if script.name.startswith("_"):
            continue
        # Our own scripts, run with our own interpreter.
        result = subprocess.run(  # noqa: S603
            [sys.executable, str(script), str(corpus)],
            capture_output=True,
            text=True,
            check=False,
        )
        sys.stderr.write(result.stderr[-4000:] if result.returncode else "")
        lines = [
            ln for ln in result.stdout.splitlines() if ln.startswith("acceptance:")
        ]
        for line in result.stdout.splitlines():
            print(line, flush=True)
        if not lines:
            print(
                f"acceptance: {script.stem} printed no figures FAIL "
                f"(exit {result.returncode})"
            )
            lines = ["FAIL"]
        for line in lines:
            sets += 1
            ok = result.returncode == 0 and not line.rstrip().endswith("FAIL")
            passed += ok
    print(f"acceptance: all sets={sets} pass={passed}")
    return 0 if sets == passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
