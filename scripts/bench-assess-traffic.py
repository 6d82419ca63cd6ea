"""Writes N per-minute traffic files (`time,sent,deleted,visible,oldest_age_s`) of DAYS days
each for scripts/bench-assess, in four shapes taken in turn: a daily cycle (busy by day), bursts
(a few a day), a steady trickle, an idle queue woken once a day. Seeded: the same files each run.

Usage: bench-assess-traffic.py DIR N DAYS
"""
import math
import os
import random
import sys

out, n, days = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
start = 1_767_225_600  # 2026-01-01T00:00:00Z
minutes = days * 1440
os.makedirs(out, exist_ok=True)
for i in range(n):
    rnd = random.Random(i)
    shape = i % 4
    scale = rnd.uniform(0.5, 3.0)
    lines = ["time,sent,deleted,visible,oldest_age_s"]
    for m in range(minutes):
        hour = (m / 60) % 24
        if shape == 0:
            sent = scale * 40 * max(0.0, math.sin((hour - 6) / 24 * 2 * math.pi)) + scale * 2
        elif shape == 1:
            sent = scale * 3000 if m % 480 == rnd.randrange(480) else scale
        elif shape == 2:
            sent = scale * 5
        else:
            sent = scale * 200 if m % 1440 == 540 else 0
        sent = round(sent)
        lines.append(f"{start + m * 60},{sent},{sent},0,0")
    with open(os.path.join(out, f"service-{i:03}.csv"), "w") as f:
        f.write("\n".join(lines) + "\n")
