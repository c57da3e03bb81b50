"""Workers from DNS: a name that resolves to several addresses (a Kubernetes headless service), re-resolved
periodically so replicas that come and go join and leave the pool.

The resolver is a plain async function ``(host, port) -> addresses`` so tests and unusual setups can swap
it; the default asks the system resolver. A failed lookup keeps the previous worker set: a DNS hiccup must
not empty a pool that is serving traffic.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

from gateway.routing.pool import Pool

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host``, sorted so the order is stable."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def hosts_file_resolver(path: str | Path) -> Resolver:
    """A resolver reading an /etc/hosts-style file (``address name [alias...]`` per line) on every call."""

    async def resolve(host: str, port: int) -> list[str]:
        addresses: list[str] = []
        for line in Path(path).read_text().splitlines():
            fields = line.split("#", 1)[0].split()
            if len(fields) >= 2 and host in fields[1:] and fields[0] not in addresses:
                addresses.append(fields[0])
        if not addresses:
            raise OSError(f"{host}: no such name in {path}")
        return sorted(addresses)

    return resolve


def parse_target(dns: str) -> tuple[str, int]:
    """``host:port`` (port defaults to 80; IPv6 literals in brackets)."""
    host, sep, port = dns.rpartition(":")
    if not sep or "]" in port:
        return dns.strip("[]"), 80
    return host.strip("[]"), int(port)


def worker_url(scheme: str, address: str, port: int) -> str:
    try:
        is_v6 = ipaddress.ip_address(address).version == 6
    except ValueError:
        is_v6 = False
    host = f"[{address}]" if is_v6 else address
    return f"{scheme}://{host}:{port}"


async def refresh(pool: Pool, resolver: Resolver) -> bool:
    """Re-resolve a DNS pool's name and update its workers; True when the set changed."""
    dns = pool.settings.dns
    if not dns:
        return False
    host, port = parse_target(dns)
    try:
        addresses = await resolver(host, port)
    except (OSError, ValueError) as error:
        log.warning(
            "DNS discovery of %s (%s) failed, keeping %d workers: %s",
            pool.name,
            dns,
            len(pool.workers),
            error,
        )
        return False
    urls = [worker_url(pool.settings.scheme, address, port) for address in addresses]
    # Static workers of the same upstream stay alongside the discovered ones.
    static = list(pool.settings.workers) or ([pool.settings.base_url] if pool.settings.base_url else [])
    changed = pool.set_urls([*static, *urls])
    if changed:
        log.info("upstream %s now has %d workers from %s", pool.name, len(pool.workers), dns)
    return changed


async def refresh_all(pools: list[Pool], resolver: Resolver) -> None:
    await asyncio.gather(*(refresh(pool, resolver) for pool in pools if pool.settings.dns))
