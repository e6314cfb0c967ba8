#!/usr/bin/env python3
"""Streaming memory checks against a proxy on loopback, sampling the proxy's RSS.

usage:
  memcheck.py big  PORT PID BYTES TIMEOUT_S
  memcheck.py slow PORT PID CONNECTIONS CHUNKS SIZE INTERVAL_MS TIMEOUT_S

PID may be a comma-separated list (nginx master,worker): RSS is summed.
Prints one JSON object: bytes received, responses completed, status codes,
elapsed seconds, the largest sampled VmRSS and the final VmHWM (MiB).
"""
import asyncio
import json
import sys
import time


def status_kib(pids, field):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


async def sampler(pids, state, stop):
    while not stop.is_set():
        state["max_rss_kib"] = max(state["max_rss_kib"], status_kib(pids, "VmRSS"))
        try:
            await asyncio.wait_for(stop.wait(), 0.1)
        except asyncio.TimeoutError:
            pass


async def fetch(port, path, state):
    """One request with Connection: close; reads to EOF, counts body bytes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        state["open"] += 1
        state["peak_open"] = max(state["peak_open"], state["open"])
        writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        code = head.split(b" ", 2)[1].decode()
        chunked = b"transfer-encoding: chunked" in head.lower()
        got = 0
        while True:
            data = await reader.read(1 << 20)
            if not data:
                break
            got += len(data)
        state["codes"][code] = state["codes"].get(code, 0) + 1
        state["bytes"] += got  # wire bytes of the body (chunk framing included if chunked)
        state["chunked"] = state["chunked"] or chunked
        state["completed"] += 1
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        state["errors"][type(e).__name__] = state["errors"].get(type(e).__name__, 0) + 1
    finally:
        state["open"] -= 1
        writer.close()


async def main():
    mode, port, pids = sys.argv[1], int(sys.argv[2]), [p for p in sys.argv[3].split(",") if p]
    state = {"mode": mode, "bytes": 0, "completed": 0, "codes": {}, "errors": {},
             "open": 0, "peak_open": 0, "chunked": False, "max_rss_kib": 0}
    stop = asyncio.Event()
    samp = asyncio.create_task(sampler(pids, state, stop))
    t0 = time.monotonic()
    if mode == "big":
        nbytes, timeout = int(sys.argv[4]), float(sys.argv[5])
        jobs = [fetch(port, f"/big?bytes={nbytes}", state)]
    else:
        conns, chunks, size, interval, timeout = (int(sys.argv[4]), int(sys.argv[5]),
                                                  int(sys.argv[6]), int(sys.argv[7]),
                                                  float(sys.argv[8]))
        path = f"/slow?chunks={chunks}&size={size}&interval_ms={interval}"
        jobs = [fetch(port, path, state) for _ in range(conns)]
    try:
        await asyncio.wait_for(asyncio.gather(*jobs), timeout)
    except asyncio.TimeoutError:
        state["errors"]["overall_timeout"] = 1
    state["elapsed_s"] = round(time.monotonic() - t0, 2)
    stop.set()
    await samp
    state["max_rss_mib"] = round(state.pop("max_rss_kib") / 1024, 1)
    state["hwm_mib"] = round(status_kib(pids, "VmHWM") / 1024, 1)
    print(json.dumps(state))


if __name__ == "__main__":
    asyncio.run(main())
