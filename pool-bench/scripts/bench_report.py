#!/usr/bin/env python3
"""Turns one `cargo bench` run into BENCHMARKS.md's tables and charts.

Reads what the run left in the workspace's target directory:
  target/criterion/<group>/<subject>/new/estimates.json   criterion's timings
  target/tmp/pool-bench/pools-allocs.csv                   allocation counts (benches/pools.rs)
  target/tmp/pool-bench/pools_mimalloc-allocs.csv          same, under mimalloc
  target/tmp/pool-bench/retention.csv                      scenarios 4-6 (benches/retention.rs)
  target/tmp/pool-bench/proxy.csv                          the proxy workload (benches/proxy.rs)
  target/tmp/pool-bench/<bench>-run.txt                    when each bench target started

and writes, in pool-bench/ (where benches/ and this script live):
  benches/results/tables.md      one markdown table per scenario (pasted into BENCHMARKS.md)
  benches/results/summary.csv    every number the tables use, one row per measurement
  benches/results/proxy.csv      the proxy workload's rows, as benches/proxy.rs wrote them
  benches/results/timings.png    scenarios 1, 2, 3 and 7, ns per operation
  benches/results/retention.png  scenario 4, retained bytes after the burst and after release

Timings older than their bench target's start are from an earlier run: the script refuses
them (so every table is from one run) unless --allow-stale is given.

Usage: python3 pool-bench/scripts/bench_report.py [--target DIR] [--out DIR] [--allow-stale]
                                                  [--update BENCHMARKS.md]
Needs matplotlib for the PNGs (pip install matplotlib); without it, tables only.
"""

import argparse
import csv
import json
import os
import shutil
import sys

PEERS = [
    "lockfree-linear",
    "lockfree-spinlock",
    "object-pool",
    "opool",
    "poolshark-local",
    "poolshark-global",
    "regex-automata",
    "sharded-slab",
]
OURS = "pool-core"
OURS_BUFFERS = "pool-core-buffers"
FRESH = "fresh-alloc"
FLOOR = "tl-floor"
CHANNEL = "channel-alone"
ORDER = [OURS, OURS_BUFFERS] + PEERS + [FRESH, FLOOR]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # pool-bench/
    workspace = os.path.dirname(package)  # the target directory is the workspace's
    parser.add_argument("--target", default=os.path.join(workspace, "target"))
    parser.add_argument("--out", default=os.path.join(package, "benches", "results"))
    parser.add_argument("--allow-stale", action="store_true")
    parser.add_argument(
        "--update",
        metavar="MARKDOWN",
        help="also replace the text between <!-- tables:start --> and <!-- tables:end --> "
        "in this file (BENCHMARKS.md) with the tables",
    )
    return parser.parse_args()


def run_started(results, bench):
    """The UNIX time the bench target started, from its run file."""
    path = os.path.join(results, f"{bench}-run.txt")
    with open(path) as f:
        info = dict(line.strip().split("=", 1) for line in f if "=" in line)
    return int(info["started"]), info


def read_allocs(results, bench):
    path = os.path.join(results, f"{bench}-allocs.csv")
    table = {}
    if not os.path.exists(path):
        return table
    with open(path) as f:
        for row in csv.DictReader(f):
            ops = int(row["ops"])
            table[(row["scenario"], row["subject"])] = (
                int(row["allocs"]) / ops,
                int(row["bytes_allocated"]) / ops,
            )
    return table


class Timings:
    """Criterion's estimates for the groups of one bench target."""

    def __init__(self, criterion_dir, started, allow_stale):
        self.dir = criterion_dir
        self.started = started
        self.allow_stale = allow_stale
        self.stale = []

    def get(self, group, subject):
        """(ns per op, low, high) from criterion's slope (its reported time), or the mean
        where there is no slope; None if the benchmark did not run."""
        path = os.path.join(self.dir, group, subject, "new", "estimates.json")
        if not os.path.exists(path):
            return None
        if os.path.getmtime(path) < self.started:
            self.stale.append(f"{group}/{subject}")
            if not self.allow_stale:
                return None
        with open(path) as f:
            estimates = json.load(f)
        estimate = estimates.get("slope") or estimates["mean"]
        interval = estimate["confidence_interval"]
        return (
            estimate["point_estimate"],
            interval["lower_bound"],
            interval["upper_bound"],
        )


def bold_ours(subject):
    """A subject's name for a table: ours in bold."""
    return f"**{subject}**" if subject.startswith(OURS) else subject


def md_row(cells):
    """One Markdown table row."""
    return "| " + " | ".join(str(c) for c in cells) + " |"


def md_head(headers):
    """A Markdown table's header row and separator."""
    return [md_row(headers), "|" + "---|" * len(headers)]


def fmt_ns(ns):
    if ns is None:
        return "n/a"
    if ns >= 1000:
        return f"{ns / 1000:.2f} µs"
    return f"{ns:.1f}"


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}x"


def fmt_bytes(n):
    n = int(n)
    if abs(n) >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    if abs(n) >= 1 << 10:
        return f"{n / (1 << 10):.1f} KiB"
    return f"{n} B"


def best_peer(times):
    """The fastest peer (not ours, not a baseline) and its time."""
    candidates = [(times[s][0], s) for s in PEERS if times.get(s)]
    if not candidates:
        return None, None
    ns, name = min(candidates)
    return name, ns


def time_table(title, group, timings, allocs, extra=None):
    """A scenario table: ns/op with its interval, ratios to the best peer and the floor,
    allocations per op; `extra` adds (header, fn(subject, times) -> str) columns."""
    subjects = ([CHANNEL] if group.startswith("s3") else []) + ORDER
    times = {s: timings.get(group, s) for s in subjects}
    best_name, best_ns = best_peer(times)
    floor = times.get(FLOOR)
    floor_ns = floor[0] if floor else None
    headers = ["pool", "ns/op", "95% CI", "vs best peer", "vs floor", "allocs/op", "bytes/op"]
    if extra:
        headers += [h for h, _ in extra]
    lines = [f"### {title}", ""]
    if best_name:
        lines.append(f"Best peer: **{best_name}** ({fmt_ns(best_ns)} ns/op).")
        lines.append("")
    lines += md_head(headers)
    rows = []
    for s in subjects:
        t = times.get(s)
        if t is None and (group, s) not in allocs:
            continue
        ns = t[0] if t else None
        a = allocs.get((group, s))
        cells = [
            bold_ours(s),
            fmt_ns(ns),
            f"{fmt_ns(t[1])}–{fmt_ns(t[2])}" if t else "n/a",
            fmt_ratio(ns, best_ns),
            fmt_ratio(ns, floor_ns),
            f"{a[0]:.3f}" if a else "n/a",
            f"{a[1]:.0f}" if a else "n/a",
        ]
        if extra:
            cells += [f(s, t) for _, f in extra]
        lines.append(md_row(cells))
        rows.append((group, s, ns, t[1] if t else None, t[2] if t else None, a))
    lines.append("")
    return lines, times, rows


def retention_tables(path):
    rows = []
    with open(path) as f:
        rows = list(csv.DictReader(f))
    by = {}
    for r in rows:
        by.setdefault(r["scenario"], []).append(r)
    lines = []

    lines += ["### Scenario 4: burst of 10,000 x 4 KiB, then idle", ""]
    lines += md_head(
        ["pool", "release means", "after the burst", "after release", "after release + 1 use"]
    )
    s4 = {}
    for r in by.get("s4", []):
        s4.setdefault(r["subject"], {})[r["phase"]] = r
    for subject, phases in s4.items():
        def cell(phase):
            r = phases.get(phase)
            return f"{fmt_bytes(r['bytes'])} ({r['objects']} obj)" if r else "n/a"

        means = phases.get("after release", {}).get("note", "")
        lines.append(
            md_row(
                [
                    bold_ours(subject),
                    means,
                    cell("after the burst"),
                    cell("after release"),
                    cell("after release + 1 use"),
                ]
            )
        )
    lines.append("")

    # Scenarios 5 and 6: what each pool retains; scenario 5 also counts the 1 MiB+ blocks.
    for scenario, title, large in [
        ("s5", "Scenario 5: 1 use in 100 grows to 1 MiB (9,600 uses, 32 held at a time)", True),
        ("s6", "Scenario 6: 1,000 short-lived threads, 4 at a time", False),
    ]:
        lines += [f"### {title}", ""]
        headers = ["pool", "retained", "4 KiB objects"]
        lines += md_head(headers + ["1 MiB+ blocks"] if large else headers)
        for r in by.get(scenario, []):
            cells = [bold_ours(r["subject"]), fmt_bytes(r["bytes"]), r["objects"]]
            lines.append(md_row(cells + [r["large"]] if large else cells))
        lines.append("")
    return lines, s4


def fmt_mib(n):
    return f"{float(n) / (1 << 20):.1f}"


def proxy_table(path, info):
    """The proxy workload (benches/proxy.rs): one row per strategy, medians over the rounds,
    then the targets `BufferPool::new()` is held to (the proxy demo's), as the bench judged them."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    rounds = rows[0]["rounds"] if rows else info.get("rounds", "?")
    lines = [
        f"### Proxy workload: the README demo's, every strategy in its own process, {rounds} interleaved rounds",
        "",
    ]
    best = next((r for r in rows if r["best_peer"] == "1"), None)
    if best:
        lines.append(
            f"Best peer: **{best['strategy']}** ({float(best['vs_fresh']):.2f}x fresh allocation's requests/s)."
        )
        lines.append("")
    headers = [
        "strategy",
        "requests/s",
        "vs fresh",
        "vs best peer",
        "peak MiB",
        "live MiB",
        "peak / live",
        "allocs (steady)",
        "MiB after release",
        "release means",
    ]
    lines += md_head(headers)
    for r in rows:
        name = f"**{r['strategy']}**" if r["kind"] == "ours" else r["strategy"]
        cells = [
            name.replace("<", "\\<").replace(">", "\\>").replace("|", "\\|"),
            f"{float(r['rps']):,.0f}",
            f"{float(r['vs_fresh']):.2f}x",
            f"{float(r['vs_best_peer']):.2f}x",
            fmt_mib(r["peak_bytes"]),
            fmt_mib(r["live_bytes"]),
            f"{float(r['ratio']):.2f}",
            f"{float(r['allocs']):,.0f}",
            fmt_mib(r["after_bytes"]),
            r["release"],
        ]
        lines.append(md_row(cells))
    lines.append("")
    targets = [r["targets"] for r in rows if r["targets"]]
    if targets:
        lines.append("`BufferPool::new()`, the proxy demo's targets: " + targets[0] + ".")
        lines.append("")
    return lines


def update_markdown(path, tables):
    """Puts the tables between the markers in `path`, leaving the rest of the file alone."""
    start, end = "<!-- tables:start -->", "<!-- tables:end -->"
    with open(path) as f:
        text = f.read()
    if start not in text or end not in text:
        sys.exit(f"{path} has no {start} ... {end} markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(f"{head}{start}\n{tables}\n{end}{tail}")
    print(f"updated the tables in {path}")


def charts(out, panels, s4):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not found: no charts (pip install matplotlib)", file=sys.stderr)
        return

    def color(s):
        if s.startswith(OURS):
            return "#d62728"
        if s in (FRESH, FLOOR, CHANNEL):
            return "#7f7f7f"
        return "#1f77b4"

    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    for ax, (title, times, log) in zip(axes.flat, panels):
        names = [s for s in ([CHANNEL] + ORDER) if times.get(s)]
        values = [times[s][0] for s in names]
        errs = [
            [times[s][0] - times[s][1] for s in names],
            [times[s][2] - times[s][0] for s in names],
        ]
        y = range(len(names))
        ax.barh(y, values, xerr=errs, color=[color(s) for s in names], capsize=2)
        ax.set_yticks(list(y), names)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("ns per operation (lower is better)")
        if log:
            ax.set_xscale("log")
        for i, s in enumerate(names):
            ax.text(times[s][2], i, f" {fmt_ns(times[s][0])}", va="center", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(
        "pool-core (red) vs peers (blue) and baselines (grey); one `cargo bench` run",
        fontsize=11,
    )
    fig.tight_layout()
    path = os.path.join(out, "timings.png")
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")

    if s4:
        fig, ax = plt.subplots(figsize=(11, 6))
        names = list(s4)
        burst = [max(1, int(s4[n]["after the burst"]["bytes"])) for n in names]
        release = [max(1, int(s4[n]["after release"]["bytes"])) for n in names]
        y = list(range(len(names)))
        ax.barh([i - 0.2 for i in y], burst, height=0.4, label="after the burst", color="#aec7e8")
        ax.barh(
            [i + 0.2 for i in y],
            release,
            height=0.4,
            label="after the pool's own release (ours: sweep() x2; none for most peers)",
            color=[color(n) for n in names],
        )
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("bytes retained (log scale; 1 B = nothing)")
        ax.set_title("Scenario 4: 10,000 x 4 KiB burst, then idle")
        for i, n in enumerate(names):
            actual = int(s4[n]["after release"]["bytes"])
            ax.text(release[i], i + 0.2, f" {fmt_bytes(actual)}", va="center", fontsize=8)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        path = os.path.join(out, "retention.png")
        fig.savefig(path, dpi=110)
        print(f"wrote {path}")


def main():
    args = parse_args()
    results = os.path.join(args.target, "tmp", "pool-bench")
    criterion_dir = os.path.join(args.target, "criterion")
    os.makedirs(args.out, exist_ok=True)

    started, info = run_started(results, "pools")
    threads = info.get("threads", "2")
    timings = Timings(criterion_dir, started, args.allow_stale)
    allocs = read_allocs(results, "pools")
    lines = ["<!-- generated by pool-bench/scripts/bench_report.py from one cargo bench run -->", ""]
    summary = []

    def table(title, group, timings=timings, allocs=allocs, extra=None):
        """Adds a time table to the page and its rows to the summary; returns its timings."""
        t, times, rows = time_table(title, group, timings, allocs, extra)
        lines.extend(t)
        summary.extend(rows)
        return times

    s1v = table("Scenario 1a: one thread, 4 KiB `Vec<u8>`", "s1_vec4k")
    s1r = table(
        "Scenario 1b: one thread, struct with a `Vec`, a `HashMap` and a `String`", "s1_record"
    )

    mim_started, _ = run_started(results, "pools_mimalloc")
    mim_timings = Timings(criterion_dir, mim_started, args.allow_stale)
    mim_allocs = read_allocs(results, "pools_mimalloc")
    table("Scenario 1a under mimalloc", "s1_vec4k_mimalloc", mim_timings, mim_allocs)
    table("Scenario 1b under mimalloc", "s1_record_mimalloc", mim_timings, mim_allocs)

    def vs_own_s1(s, times):
        base = s1v.get(s)
        return fmt_ratio(times[0] if times else None, base[0] if base else None)

    s2 = table(
        f"Scenario 2: {threads} threads on one pool (wall time per op = wall / (threads x ops))",
        f"s2_threads{threads}",
        extra=[("vs own scenario 1a", vs_own_s1)],
    )

    channel = timings.get("s3_handoff", CHANNEL)

    def vs_channel(s, times):
        return fmt_ratio(times[0] if times else None, channel[0] if channel else None)

    s3 = table(
        "Scenario 3: producer -> consumer through a bounded channel; the consumer returns the object",
        "s3_handoff",
        extra=[("vs channel alone", vs_channel)],
    )
    table(
        "Scenario 7: 10,000 guards outstanding, then get / write / return",
        "s7_outstanding",
        extra=[("vs own scenario 1a", vs_own_s1)],
    )
    table(
        "Scenario 8a: one thread takes 8 objects, writes to each, returns all (time per object)",
        "s8_batch8",
        extra=[("vs own scenario 1a", vs_own_s1)],
    )
    table(
        "Scenario 8b: the same with 64 objects held at once (time per object)",
        "s8_batch64",
        extra=[("vs own scenario 1a", vs_own_s1)],
    )

    s4 = {}
    retention = os.path.join(results, "retention.csv")
    if os.path.exists(retention):
        t, s4 = retention_tables(retention)
        lines += t

    proxy = os.path.join(results, "proxy.csv")
    if os.path.exists(proxy):
        proxy_started, proxy_info = run_started(results, "proxy")
        if os.path.getmtime(proxy) < proxy_started and not args.allow_stale:
            # The last proxy run stopped before writing its table: this one is older.
            print("warning: proxy.csv predates the last proxy run and was left out", file=sys.stderr)
            lines.append("(left out as stale: the proxy workload)")
        else:
            lines += proxy_table(proxy, proxy_info)
            shutil.copyfile(proxy, os.path.join(args.out, "proxy.csv"))

    if timings.stale or mim_timings.stale:
        stale = timings.stale + mim_timings.stale
        verb = "used" if args.allow_stale else "left out"
        print(f"warning: {len(stale)} timings predate this run and were {verb}: {stale}", file=sys.stderr)
        if not args.allow_stale:
            lines.append(f"(left out as stale: {', '.join(stale)})")

    tables = os.path.join(args.out, "tables.md")
    with open(tables, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {tables}")
    if args.update:
        update_markdown(args.update, "\n".join(lines))

    with open(os.path.join(args.out, "summary.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["scenario", "subject", "ns_per_op", "ci_low", "ci_high", "allocs_per_op", "bytes_per_op"])
        for group, s, ns, lo, hi, a in summary:
            w.writerow([group, s, ns, lo, hi, a[0] if a else "", a[1] if a else ""])

    charts(
        args.out,
        [
            ("Scenario 1a: one thread, 4 KiB Vec<u8> (system allocator)", s1v, False),
            ("Scenario 1b: one thread, Vec + HashMap + String struct", s1r, False),
            (f"Scenario 2: {threads} threads, one pool (wall time per op)", s2, False),
            ("Scenario 3: producer -> consumer handoff (log scale)", s3, True),
        ],
        s4,
    )


if __name__ == "__main__":
    main()
