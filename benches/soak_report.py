#!/usr/bin/env python3
"""The report of benches/soak.sh (Markdown on stdout); exits 1 unless every
request got a 2xx, no socket error happened and the guard still runs."""
import json
import sys

(res, rss0, rss1, fd0, fd1, samples, cap, target, secs, conns, delay, alive,
 version) = sys.argv[1:]
d = json.loads(res)
rps = d["requests"] / (d["duration_us"] / 1e6)
errors = d["err_connect"] + d["err_read"] + d["err_write"] + d["err_timeout"]
rows = [l.split("\t") for l in open(samples).read().splitlines() if l]
rss = [int(r[1]) for r in rows if len(r) > 2 and r[1]]
fds = [int(r[2]) for r in rows if len(r) > 2 and r[2]]
load = open("/proc/loadavg").read().split()[:3]
print(f"## Soak: {version}, {int(secs) // 60} min {int(secs) % 60} s")
print()
print(f"- load: wrk -t2 -c{conns}, each connection {delay} ms between requests; "
      f"target {int(target):,} req/s = {float(target) / float(cap):.0%} of the measured "
      f"{int(cap):,} req/s (reached {rps:,.0f}); mix: 50% clean 12 KB HTML, 20% dense "
      f"12 KB JSON, 10% each gzip clean and gzip dense, 10% 600 KB HTML")
print(f"- load average at the end: {' '.join(load)}; RSS and fds sampled every 10 s")
print()
print("| requests | req/s | p50 ms | p99 ms | max ms | non-2xx "
      "| socket errors (connect/read/write/timeout) |")
print("|---:|---:|---:|---:|---:|---:|---|")
print(f"| {d['requests']:,} | {rps:,.0f} | {d['p50_us'] / 1000:.2f} | {d['p99_us'] / 1000:.2f} "
      f"| {d['max_us'] / 1000:.1f} | {d['non2xx']} | {errors} ({d['err_connect']}/"
      f"{d['err_read']}/{d['err_write']}/{d['err_timeout']}) |")
print()
print("| leakwarden | after warm-up | at the end | min-max during the run |")
print("|---|---:|---:|---:|")
rng = f"{min(rss) / 1024:.1f}-{max(rss) / 1024:.1f}" if rss else "-"
print(f"| RSS MiB | {int(rss0) / 1024:.1f} | {int(rss1) / 1024:.1f} | {rng} |")
rng = f"{min(fds)}-{max(fds)}" if fds else "-"
print(f"| open fds | {fd0} | {fd1} | {rng} |")
print()
ok = d["non2xx"] == 0 and errors == 0 and alive == "yes"
print(f"Result: {'PASS' if ok else 'FAIL'}: {d['non2xx']} non-2xx, {errors} socket errors, "
      f"guard {'running' if alive == 'yes' else 'NOT RUNNING'} at the end; RSS "
      f"{(int(rss1) - int(rss0)) / 1024:+.1f} MiB and fds {int(fd1) - int(fd0):+d} "
      f"from start to end.")
sys.exit(0 if ok else 1)
