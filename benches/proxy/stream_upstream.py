#!/usr/bin/env python3
"""A tiny loopback HTTP/1.1 upstream for the streaming memory checks.

usage: stream_upstream.py PORT BLOCK_FILE

  GET /big?bytes=N                       N bytes of text/html (BLOCK_FILE repeated),
                                         with Content-Length, written as fast as the
                                         reader takes them.
  GET /slow?chunks=C&size=S&interval_ms=I  C*S bytes of text/plain, S bytes every I ms.

Binds 127.0.0.1 only. Keep-alive is supported so a pooled proxy can reuse
connections. Writes "ready" on stdout once listening.
"""
import asyncio
import sys
from urllib.parse import parse_qs, urlsplit

SLOW_LINE = (b"order 1187 shipped to j.doe@example.com card 4111 1111 1111 1111 "
             b"ref 2024-05-01 status ok; ")


async def handle(reader, writer, block):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split(" ")
            target = urlsplit(parts[1] if len(parts) > 1 else "/")
            q = {k: v[0] for k, v in parse_qs(target.query).items()}
            close = b"connection: close" in head.lower()
            if target.path == "/big":
                total = int(q.get("bytes", "1048576"))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                             b"Content-Length: %d\r\n\r\n" % total)
                left = total
                view = memoryview(block)
                while left > 0:
                    n = min(left, len(block))
                    writer.write(view[:n])
                    left -= n
                    await writer.drain()
            elif target.path == "/slow":
                chunks = int(q.get("chunks", "20"))
                size = int(q.get("size", "64"))
                interval = int(q.get("interval_ms", "250")) / 1000.0
                piece = (SLOW_LINE * (size // len(SLOW_LINE) + 1))[:size]
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                             b"Content-Length: %d\r\n\r\n" % (chunks * size))
                await writer.drain()
                for _ in range(chunks):
                    await asyncio.sleep(interval)
                    writer.write(piece)
                    await writer.drain()
            else:
                body = b"not found\n"
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main():
    port = int(sys.argv[1])
    with open(sys.argv[2], "rb") as f:
        block = f.read()
    server = await asyncio.start_server(lambda r, w: handle(r, w, block), "127.0.0.1", port,
                                        backlog=4096)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
