"""SPICE transport throughput: the sans-I/O Connection, spice_net over memory streams, ticket crypto.

Prints a table (median of --runs timings each); asserts nothing about speed.

    python tools/bench_net.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import spice_net
import trio
import trio.testing
from spice_proto import (
    NEED_DATA,
    Caps,
    ChannelType,
    Connection,
    Direction,
    DisplayMsg,
    LinkErr,
    Ping,
    Role,
    UnknownMessage,
)


def median(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def linked_pair() -> tuple[Connection, Connection]:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    client.initiate(ChannelType.DISPLAY)
    server.receive_data(client.data_to_send())
    server.next_event()
    server.accept_link(bytes(162), None, Caps())
    client.receive_data(server.data_to_send())
    client.next_event()
    client.send_ticket(bytes(128))
    server.receive_data(client.data_to_send())
    server.next_event()
    server.finish_link(LinkErr.OK)
    client.receive_data(server.data_to_send())
    client.next_event()
    return client, server


def parse_rate(body_size: int, count: int) -> tuple[float, float]:
    """(messages/s, MB/s) for a client parsing ``count`` messages of ``body_size`` bytes."""
    _, server = linked_pair()
    msg = UnknownMessage(
        ChannelType.DISPLAY, Direction.SERVER_TO_CLIENT, DisplayMsg.DRAW_COPY + 900, bytes(body_size)
    )
    for _ in range(count):
        server.send(msg)
    wire = server.data_to_send()

    def run() -> None:
        client, _ = linked_pair()
        for i in range(0, len(wire), 65536):
            client.receive_data(wire[i : i + 65536])
            while client.next_event() is not NEED_DATA:
                pass

    seconds = median(run, ARGS.runs)
    return count / seconds, len(wire) / seconds / 1e6


async def memory_stream_rate(count: int, window: int) -> float:
    client_stream, server_stream = trio.testing.memory_stream_pair()
    box: dict[str, spice_net.ServerChannel] = {}

    async def serve() -> None:
        box["s"] = await spice_net.accept_channel(server_stream, password=None, ack_window=window)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        client = await spice_net.link_channel(client_stream, channel_type=ChannelType.DISPLAY)
    server = box["s"]
    start = time.perf_counter()
    async with trio.open_nursery() as nursery:

        async def produce() -> None:
            for i in range(count):
                await server.send(Ping(i, 0))

        nursery.start_soon(produce)
        for _ in range(count + 1):
            await client.receive()
    elapsed = time.perf_counter() - start
    await client.aclose()
    await server.aclose()
    return count / elapsed


def main() -> None:
    print("| what | figure |")
    print("|---|---|")
    for size, count in ((12, 100_000), (1024, 20_000), (65536, 2_000)):
        rate, mbps = parse_rate(size, count)
        print(f"| Connection parse, {size}-byte bodies | {rate:,.0f} msg/s, {mbps:,.0f} MB/s |")
    rates = [trio.run(memory_stream_rate, 20_000, 20) for _ in range(ARGS.runs)]
    print(f"| spice_net memory stream, ACK window 20, PING+PONG | {statistics.median(rates):,.0f} msg/s |")
    keygen = median(spice_net.lowlevel.TicketKey.generate, ARGS.runs * 4)
    key = spice_net.lowlevel.TicketKey.generate()
    encrypt = median(lambda: spice_net.lowlevel.encrypt_ticket(key.public_der, "sesame"), ARGS.runs * 4)
    ticket = spice_net.lowlevel.encrypt_ticket(key.public_der, "sesame")
    check = median(lambda: key.check(ticket, "sesame"), ARGS.runs * 4)
    print(f"| RSA-1024 key per link | {keygen * 1e3:.1f} ms |")
    print(f"| ticket encrypt / check | {encrypt * 1e3:.2f} ms / {check * 1e3:.2f} ms |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    ARGS = parser.parse_args()
    main()
