"""How long the CLI takes before it does any work: `lahan --help` and friends.

Each command runs ``--runs`` times in a fresh interpreter, interleaved with ``python -c
pass`` (the floor: interpreter start-up alone), and the medians are reported side by
side. ``--compare-src DIR`` adds the same commands run from another checkout's ``src``
folder (``git worktree add /tmp/old COMMIT``), so a change is measured against its
parent in the same run.

    python bench/cli_startup.py --runs 10 --json runs/cli_startup.json
    python bench/cli_startup.py --runs 10 --compare-src /tmp/old/src
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "lahan --help": ["-m", "lahan", "--help"],
    "lahan prune --help": ["-m", "lahan", "prune", "--help"],
    "lahan data check demo": ["-m", "lahan", "data", "check", "demo"],
}


def time_once(args: list[str], src: str | None) -> float:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src  # ahead of the installed lahan
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        check=True,
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--compare-src", default=None, help="another checkout's src folder")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    setups = [("this checkout", None)]
    if args.compare_src:
        setups.append((f"from {args.compare_src}", str(Path(args.compare_src).resolve())))
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.runs):  # interleaved: a load change moves every command alike
        for setup, src in setups:
            for name, argv in COMMANDS.items():
                if name == "python -c pass" and src is not None:
                    continue
                times.setdefault((setup, name), []).append(time_once(argv, src))

    rows = []
    print(f"{'setup':<28} {'command':<24} {'median s':>9} {'min s':>7} {'max s':>7}")
    for (setup, name), values in times.items():
        row = {
            "setup": setup,
            "command": name,
            "runs": len(values),
            "median_s": statistics.median(values),
            "min_s": min(values),
            "max_s": max(values),
        }
        rows.append(row)
        print(
            f"{setup:<28} {name:<24} {row['median_s']:>9.3f} {row['min_s']:>7.3f} "
            f"{row['max_s']:>7.3f}"
        )
    if args.json:
        machine = {"cpus": os.cpu_count(), "load_before": load_before}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
