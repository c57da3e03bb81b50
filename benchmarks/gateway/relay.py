"""A byte relay: the cheapest possible proxy, to calibrate what any proxy on its own core costs here.

Every client connection gets its own connection to the upstream, and bytes are copied both ways as they
arrive, with no HTTP parsing at all. Pinned to the proxy core like the real proxies, its latency over
direct is the floor every proxy pays on this machine: one more process to wake up on another core, two
more loopback hops. On a VM at low request rates that wake-up dominates (an idle vCPU is slow to wake), so
the relay's overhead tells how much of a proxy's overhead is its own software.

    taskset -c 0 python benchmarks/gateway/relay.py --port 9200 --upstream 127.0.0.1:9100
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from serve_forever import serve_until_signalled


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            writer.close()


async def _relay(
    host: str, port: int, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
) -> None:
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))


async def serve(port: int, upstream: str) -> None:
    host, _, upstream_port = upstream.rpartition(":")
    server = await asyncio.start_server(
        lambda r, w: _relay(host, int(upstream_port), r, w), "127.0.0.1", port, backlog=4096
    )
    await serve_until_signalled(server, f"relay listening on http://127.0.0.1:{port} -> {upstream}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="host:port of the mock upstream")
    args = parser.parse_args()
    try:
        import uvloop  # the gateway's uvicorn runs on it too, when installed
    except ImportError:
        asyncio.run(serve(args.port, args.upstream))
    else:
        uvloop.run(serve(args.port, args.upstream))


if __name__ == "__main__":
    main()
