"""Run every benchmark script in this folder and pass its figures through.

Each ``bench_*.py`` is a script that prints lines of the form
``bench: NAME value=V unit=U target=T [peer=P peer_value=V ratio=R]``.
A figure that misses its target is reported, never turned into a failure;
a script that crashes is reported as such and the others still run. Each
script starts with this machine's speed at that moment (``machine.py``).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench.machine import loop_ms

HERE = Path(__file__).parent


def main(argv: list[str]) -> int:
    only = set(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    names = [script.stem.removeprefix("bench_") for script in scripts]
    unknown = sorted(only - set(names))
    if unknown:
        print(
            f"no benchmark named {', '.join(unknown)}; choose from: {' '.join(names)}",
            file=sys.stderr,
        )
        return 2
    crashed = []
    for script in scripts:
        name = script.stem.removeprefix("bench_")
        if only and name not in only:
            continue
        started = time.monotonic()
        print(f"# {script.name} (machine_loop_ms={loop_ms():.0f})", flush=True)
        # Our own scripts, run with our own interpreter.
        result = subprocess.run([sys.executable, str(script)], check=False)  # noqa: S603
        if result.returncode != 0:
            crashed.append(script.name)
            print(
                f"bench: {name}_crashed value=1 unit=bool target=0 "
                f"(exit {result.returncode})",
                flush=True,
            )
        print(f"# {script.name} took {time.monotonic() - started:.1f}s", flush=True)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
