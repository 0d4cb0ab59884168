#!/usr/bin/env python3
"""Draw a fleet-sim load CSV (fleet-sim --csv) as a PNG.

usage: plot.py LOAD.csv OUT.png [TITLE]

One panel per endpoint: the busiest second of each minute (arrivals,
answered or refused), the minute's mean, what was refused, and the
endpoint's capacity; a last panel with the share of the fleet
re-activated. Left column: the first 48 h after the revocation; right
column: the whole run.
"""
import csv
import sys


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 64
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(argv[1], newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        print("plot.py: no rows in %s" % argv[1], file=sys.stderr)
        return 1
    hours = [int(r["minute"]) / 60 for r in rows]
    endpoints = [c[: -len("_peak")] for c in rows[0] if c.endswith("_peak")]
    fig, axes = plt.subplots(len(endpoints) + 1, 2, figsize=(14, 3.2 * (len(endpoints) + 1)),
                             sharex="col", squeeze=False)
    for column, limit in enumerate((48, hours[-1])):
        for row, name in enumerate(endpoints):
            ax = axes[row][column]
            peak = [float(r[name + "_peak"]) for r in rows]
            mean = [float(r[name + "_mean"]) for r in rows]
            refused = [float(r[name + "_refused"]) for r in rows]
            ax.plot(hours, peak, lw=0.6, color="tab:blue", label="busiest second of the minute")
            ax.plot(hours, mean, lw=0.8, color="tab:green", label="mean of the minute")
            ax.plot(hours, refused, lw=0.6, color="tab:red", label="refused (mean)")
            capacity = rows[0][name + "_capacity"]
            if capacity:
                ax.axhline(float(capacity), color="black", ls="--", lw=0.8, label="capacity")
                ax.axhline(1.2 * float(capacity), color="gray", ls=":", lw=0.8, label="1.2 x capacity")
            ax.set_ylabel(name + " req/s")
            ax.set_xlim(min(hours), limit)
            ax.grid(alpha=0.3)
            if row == 0 and column == 0:
                ax.legend(fontsize=7, loc="upper right")
        ax = axes[-1][column]
        ax.plot(hours, [100 * float(r["reactivated_share"]) for r in rows], color="tab:purple")
        ax.set_ylabel("re-activated %")
        ax.set_ylim(0, 100)
        ax.set_xlabel("hours after the revocation")
        ax.grid(alpha=0.3)
    fig.suptitle(argv[3] if len(argv) == 4 else argv[1])
    fig.tight_layout()
    fig.savefig(argv[2], dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
