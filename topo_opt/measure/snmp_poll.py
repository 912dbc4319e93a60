"""Live polling of interface counters over SNMP (optional: ``pip install 'topo-opt[snmp]'``).

Every ``interval_s`` seconds SNMPv2c GETs ask the agent for, per mapped interface, the
IF-MIB 64-bit octet counters and the speed (McCloghrie & Kastenholz, RFC 2863, ``ifXTable``),
at most :data:`OIDS_PER_GET` values (ten interfaces) per GET so that the answer stays within
one Ethernet frame (~1 kB of var-binds; an agent answers ``tooBig`` past its message size):

* ``ifHCInOctets``  1.3.6.1.2.1.31.1.1.1.6.<ifIndex>  -- octets received on the interface;
* ``ifHCOutOctets`` 1.3.6.1.2.1.31.1.1.1.10.<ifIndex> -- octets sent;
* ``ifHighSpeed``   1.3.6.1.2.1.31.1.1.1.15.<ifIndex> -- speed in Mbit/s (0: unknown).

An interface is mapped to an interface id and the direction of the traffic it *sends*
(:class:`Interface`, ``IFINDEX=ID[:DIRECTION]``): on the source node of link ``AB`` the
interface facing B sends ``forward`` and receives ``reverse``; an access interface of node N
sends ``egress`` (traffic leaving the network) and receives ``ingress``.

The polls are appended to the long counter format :mod:`topo_opt.measure.counters` reads
(``timestamp,link,direction,counter,counter_bits,speed_bps``; the timestamp is the time the
answer arrived, seconds since the epoch), flushed after every poll, so an interrupted run keeps
every complete poll.  Polls follow a fixed schedule (start + i × interval): a slow or missed
answer does not shift the next ones.  The first poll must answer every value (a wrong host,
community or ifIndex stops the run before anything is written); later missed polls are
reported to ``on_missed`` and left out, which ``measure rates`` then reports as gaps.

The pysnmp used is the maintained lextudio line (``pysnmp >= 7``, ``pysnmp.hlapi.v3arch.asyncio``).
"""
from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TextIO

from topo_opt.errors import InvalidInputError, SolverUnavailableError
from topo_opt.measure.counters import ACCESS_DIRECTIONS, LINK_DIRECTIONS

IF_HC_IN_OCTETS = "1.3.6.1.2.1.31.1.1.1.6"
IF_HC_OUT_OCTETS = "1.3.6.1.2.1.31.1.1.1.10"
IF_HIGH_SPEED = "1.3.6.1.2.1.31.1.1.1.15"
HEADER = "timestamp,link,direction,counter,counter_bits,speed_bps\n"
OPPOSITE = {"forward": "reverse", "reverse": "forward", "egress": "ingress", "ingress": "egress"}
INTERFACE_FORM = "IFINDEX=ID[:DIRECTION]"
OIDS_PER_GET = 30  # three per interface


@dataclass(frozen=True)
class Interface:
    """An agent's interface ``if_index`` measuring ``link`` (a link or node id): its
    ``ifHCOutOctets`` count traffic in ``sends`` direction, its ``ifHCInOctets`` the opposite."""

    if_index: int
    link: str
    sends: str = "forward"

    @property
    def receives(self) -> str:
        return OPPOSITE[self.sends]


def parse_interface(spec: str) -> Interface:
    """``"3=AB"``, ``"3=AB:reverse"``, ``"7=NYC:egress"`` (``--interface``).

    Raises
    ------
    InvalidInputError
        Not ``IFINDEX=ID[:DIRECTION]``, an ifIndex that is not a positive integer, or an unknown
        direction.
    """
    where = f"--interface {spec!r}"
    index, equals, target = spec.partition("=")
    link, _, direction = target.partition(":")
    if not equals or not link.strip():
        raise InvalidInputError(f"{where}: expected {INTERFACE_FORM}")
    if not (index.strip().isascii() and index.strip().isdigit()):  # int() would also take "+3", "3_0"
        raise InvalidInputError(f"{where}: ifIndex {index.strip()!r} is not an integer")
    if_index = int(index)
    if if_index < 1:
        raise InvalidInputError(f"{where}: ifIndex must be >= 1, got {if_index}")
    direction = direction.strip() or "forward"
    if direction not in OPPOSITE:
        raise InvalidInputError(f"{where}: direction {direction!r} must be one of "
                                f"{', '.join(LINK_DIRECTIONS + ACCESS_DIRECTIONS)} (what the interface sends)")
    return Interface(if_index, link.strip(), direction)


@dataclass(frozen=True)
class PollOptions:
    """Where and how to poll: SNMPv2c ``community`` at ``host``:``port``; ``interval_s`` between
    polls; ``count`` polls (None: until interrupted); per request ``timeout_s`` and ``retries``."""

    host: str
    port: int = 161
    community: str = "public"
    interval_s: float = 300.0
    count: int | None = None
    timeout_s: float = 2.0
    retries: int = 1

    def __post_init__(self) -> None:
        if not (math.isfinite(self.interval_s) and self.interval_s > 0):
            raise InvalidInputError(f"--interval must be a finite number of seconds > 0, got {self.interval_s!r}")
        if self.count is not None and self.count < 1:
            raise InvalidInputError(f"--count must be >= 1, got {self.count}")
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise InvalidInputError(f"--timeout must be a finite number of seconds > 0, got {self.timeout_s!r}")
        if self.retries < 0:
            raise InvalidInputError(f"--retries must be >= 0, got {self.retries}")
        if not 0 < self.port < 65536:
            raise InvalidInputError(f"--port must be 1..65535, got {self.port}")


def _hlapi():
    try:
        from pysnmp.hlapi.v3arch import asyncio as hlapi
    except ImportError:
        raise SolverUnavailableError("measure poll needs pysnmp >= 7: pip install 'topo-opt[snmp]'") from None
    return hlapi


def _oids(interfaces: list[Interface]) -> list[str]:
    return [f"{base}.{i.if_index}" for i in interfaces for base in (IF_HC_IN_OCTETS, IF_HC_OUT_OCTETS, IF_HIGH_SPEED)]


def _rows(hlapi, interfaces: list[Interface], values: list, time_s: float, first: bool, where: str,
          on_missed: Callable[[str], None]) -> str:
    """The CSV rows of one answer (three values per interface, in :func:`_oids` order)."""
    out = []
    for k, interface in enumerate(interfaces):
        received, sent, speed = values[3 * k: 3 * k + 3]
        known = isinstance(speed, (hlapi.Gauge32, hlapi.Unsigned32, hlapi.Integer32)) and int(speed) > 0
        speed_bps = f"{int(speed) * 1e6:.17g}" if known else ""
        for name, value, direction in (("ifHCInOctets", received, interface.receives),
                                       ("ifHCOutOctets", sent, interface.sends)):
            if not isinstance(value, (hlapi.Counter64, hlapi.Counter32)):
                message = f"{where}: {name}.{interface.if_index} ({interface.link}): {value.prettyPrint()}"
                if first:
                    raise InvalidInputError(message)
                on_missed(message)
                continue
            bits = 64 if isinstance(value, hlapi.Counter64) else 32
            out.append(f"{time_s:.6f},{interface.link},{direction},{int(value)},{bits},{speed_bps}\n")
    return "".join(out)


async def poll_counters(options: PollOptions, interfaces: list[Interface], emit: Callable[[str], None],
                        on_poll: Callable[[int], None] | None = None,
                        on_missed: Callable[[str], None] | None = None) -> int:
    """Poll ``options.count`` times (or until cancelled), passing the CSV text of each answered
    poll to ``emit`` (the header with the first); returns the number of polls answered.

    Raises
    ------
    InvalidInputError
        The first poll got no answer, an SNMP error, or a value that is not a counter.
    SolverUnavailableError
        pysnmp is not installed.
    """
    hlapi = _hlapi()
    on_missed = on_missed or (lambda message: None)
    where = f"{options.host}:{options.port}"
    engine = hlapi.SnmpEngine()
    try:
        target = await hlapi.UdpTransportTarget.create((options.host, options.port), timeout=options.timeout_s,
                                                       retries=options.retries)
    except Exception as exc:  # pysnmp wraps the resolver's error in its own
        reason = exc.__context__ if isinstance(exc.__context__, OSError) else exc
        raise InvalidInputError(f"{where}: cannot resolve the host: {getattr(reason, 'strerror', None) or reason}") \
            from None
    per_get = OIDS_PER_GET // 3
    groups = [interfaces[i:i + per_get] for i in range(0, len(interfaces), per_get)]
    requests = [[hlapi.ObjectType(hlapi.ObjectIdentity(oid)) for oid in _oids(group)] for group in groups]
    loop = asyncio.get_running_loop()
    start, polls, written, slot = loop.time(), 0, 0, 0
    try:
        while options.count is None or polls < options.count:
            await asyncio.sleep(max(0.0, start + slot * options.interval_s - loop.time()))
            rows, answered = [], False
            for group, objects in zip(groups, requests):
                error, status, index, binds = await hlapi.get_cmd(
                    engine, hlapi.CommunityData(options.community, mpModel=1), target, hlapi.ContextData(),
                    *objects, lookupMib=False)
                time_s = time.time()
                # tooBig comes with error index 0 and no var-binds (RFC 3416 4.2.1)
                at = f" at {binds[int(index) - 1][0]}" if 0 < int(index) <= len(binds) else ""
                problem = (f"{where}: {error}" if error else
                           f"{where}: SNMP error {status.prettyPrint()}{at}" if status else None)
                if problem:
                    if written == 0:
                        hint = " (check the host, --port and --community)" if error else ""
                        raise InvalidInputError(problem + hint)
                    on_missed(problem)
                    continue
                rows.append(_rows(hlapi, group, [value for _, value in binds], time_s, written == 0, where,
                                  on_missed))
                answered = True
            polls += 1
            # the next slot of the schedule still ahead: a slow answer skips slots, never shifts them
            slot = max(slot + 1, math.floor((loop.time() - start) / options.interval_s) + 1)
            if not answered:
                continue
            emit((HEADER if written == 0 else "") + "".join(rows))
            written += 1
            if on_poll is not None:
                on_poll(written)
    finally:
        engine.close_dispatcher()
    return written


def poll_to_file(options: PollOptions, interfaces: list[Interface], path: str | Path,
                 on_poll: Callable[[int], None] | None = None,
                 on_missed: Callable[[str], None] | None = None) -> int:
    """:func:`poll_counters` into the file ``path``, created (or truncated) at the first answer
    and flushed after every poll.  On Ctrl-C the ``KeyboardInterrupt`` propagates and the file
    holds every complete poll.

    Raises
    ------
    InvalidInputError
        No interface, or two that measure the same id and direction; see :func:`poll_counters`.
    """
    if not interfaces:
        raise InvalidInputError(f"give at least one --interface {INTERFACE_FORM}")
    seen: dict[tuple[str, str], int] = {}
    for interface in interfaces:
        for key in ((interface.link, interface.sends), (interface.link, interface.receives)):
            if key in seen:
                raise InvalidInputError(f"ifIndex {seen[key]} and {interface.if_index} both measure "
                                        f"{key[0]} {key[1]}")
            seen[key] = interface.if_index
    _hlapi()
    out: list[TextIO] = []

    def emit(text: str) -> None:
        if not out:
            Path(path).parent.mkdir(parents=True, exist_ok=True)  # as check_output_path allows
            out.append(open(path, "w", encoding="utf-8", newline=""))
        out[0].write(text)
        out[0].flush()

    try:
        return asyncio.run(poll_counters(options, interfaces, emit, on_poll, on_missed))
    finally:
        if out:
            out[0].close()
