#!/usr/bin/env python3
"""How much parallel CPU this machine gives right now: the same pure-CPU loop in 1 process,
then in N at once (default: the core count). On a machine with N free cores each of the N
copies takes as long as the single one; if they take N times as long, the machine (or its
other tenants) gives one core's worth of throughput, and no multi-threaded benchmark run
there can show parallel speed-up. BENCHMARKS.md quotes this next to scenario 2.

Usage: python3 pool-bench/scripts/parallel_check.py [N]
"""

import multiprocessing
import os
import sys
import time

LOOPS = 10_000_000


def spin(_):
    start = time.perf_counter()
    x = 0
    for i in range(LOOPS):
        x += i
    return time.perf_counter() - start


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else os.cpu_count()
    one = spin(0)
    with multiprocessing.Pool(n) as pool:
        many = pool.map(spin, range(n))
    slowest = max(many)
    print(f"1 process: {one:.2f} s; {n} at once: {', '.join(f'{t:.2f}' for t in many)} s")
    print(f"parallel speed-up: {n * one / slowest:.2f}x of {n}x possible")


if __name__ == "__main__":
    main()
