"""Realistic troubleshoot log zips for the ARM simulator, in the formats Azure writes (see the public
"VPN troubleshoot overview": ConnectionStats.txt, CPUStats.txt, IKEErrors.txt / IkeLogs.txt,
Scrubbed-wfpdiag.txt, wfpdiag.txt.sum).

Content is deterministic for a (profile, target_name, when): addresses come from the documentation ranges
203.0.113.0/24 (Azure side) and 198.51.100.0/24 (on-premises), chosen from a hash of the target name.
Files use CRLF line endings, as the gateway (Windows) writes them.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import BinaryIO

from bot.logs import codes
from bot.logs.sizes import format_size

PROFILES: Mapping[str, str] = MappingProxyType(
    {
        "healthy": "Connection healthy: ConnectionStats.txt only, connected, traffic both ways",
        "gateway_healthy": "Gateway NoFault: ConnectionStats.txt for its connections plus CPUStats.txt",
        "auth_psk_mismatch": "Older gateway, shared key mismatch: IKEErrors 13801, WFP 0x35e9 point Remote",
        "ike_policy_mismatch": "Newer gateway, IkeLogs.txt: peer offers DES/MD5, error 13868, notify",
        "peer_unreachable": "IKE negotiations time out, no response from the peer, 0 ingress bytes",
        "cpu_exceeded": "GatewayCPUUsageExceeded: CPU at 97 %",
        "connections_not_connected": "Gateway warning: its connections are not connected",
        "not_configured_on_gateway": "ConnectionNotConfiguredOnGateway: no tunnel, no remote endpoint",
        "marked_standby": "ConnectionMarkedStandby: tunnel down on this instance, endpoint known, no traffic",
        "wfp_parse_error": "WfpParse Error: truncated, garbled Scrubbed-wfpdiag.txt; .sum shows lost events",
        "invalid_payload": "On-premises device sent an invalid IKE payload (13843)",
    }
)

CRLF = "\r\n"


@dataclass(frozen=True)
class Context:
    target_name: str
    when: datetime
    azure_ip: str
    peer_ip: str
    peer_ip_2: str
    seed: int

    @classmethod
    def make(cls, target_name: str, when: datetime) -> Context:
        digest = hashlib.sha256(target_name.encode()).digest()
        return cls(
            target_name=target_name,
            when=when,
            azure_ip=f"203.0.113.{10 + digest[0] % 200}",
            peer_ip=f"198.51.100.{10 + digest[1] % 200}",
            peer_ip_2=f"198.51.100.{10 + (digest[1] + 37) % 200}",
            seed=int.from_bytes(digest[2:6], "big"),
        )


# --- one function per file format -------------------------------------------------------------------------


def us_time(t: datetime) -> str:
    """'2/1/2017 8:22:06 PM', the gateway's en-US `DateTime.ToString()`."""
    hour = t.hour % 12 or 12
    return f"{t.month}/{t.day}/{t.year} {hour}:{t.minute:02d}:{t.second:02d} {'PM' if t.hour >= 12 else 'AM'}"


def connection_stats(
    state: str, remote: str = "", ingress: int = 0, egress: int = 0, since: datetime | None = None
) -> list[str]:
    return [
        f"Connectivity State : {state}",
        f"Remote Tunnel Endpoint :{' ' + remote if remote else ''}",
        f"Ingress Bytes (since last connected) : {format_size(ingress)}",
        f"Egress Bytes (Since last connected) : {format_size(egress)}",
        f"Connected Since :{' ' + us_time(since) if since else ''}",
    ]


def cpu_stats(cpu: int, memory_mb: int) -> list[str]:
    return [f"Current CPU Usage : {cpu} % Current Memory Available : {memory_mb} MBs"]


def ike_errors(entries: Iterable[tuple[str, str, int]]) -> list[str]:
    """IKEErrors.txt: Azure's verdict, then the log line and Windows error it is based on."""
    lines = []
    for verdict, origin, code in entries:
        err = codes.lookup(code)
        lines.append(f"Error: {verdict} ")
        lines.append(
            f"\t based on log : {origin} with Windows error {code}({err.name if err else 'UNKNOWN'})"
        )
    return lines


def wfp_time(t: datetime) -> str:
    return f"{t.month:02d}/{t.day:02d}/{t.year}-{t:%H:%M:%S}.{t.microsecond // 1000:03d}"


_FILLER = (
    "IKE_SA_INIT: Received packet from peer",
    "Processing SA payload",
    "Matched main mode policy",
    "Deleted ICookie from the high priority thread pool list",
    "MM SA state transition",
)


def wfpdiag_event(
    t: datetime, *, local: str, remote: str, code: int, failure_type: str, point: str
) -> list[str]:
    """One IKE diagnostic event block, as in the overview's Scrubbed-wfpdiag.txt example."""
    p = f"[0]0368.03A4::{wfp_time(t)} [ikeext] 3038|{remote}| "
    err = codes.lookup(code)
    body = [
        "IKE diagnostic event:",
        "Event Header:",
        "Timestamp: 1601-01-01T00:00:00.000Z",
        "Flags: 0x00000106",
        "Local address field set",
        "Remote address field set",
        "IP version field set",
        "IP version: IPv4",
        "IP protocol: 0",
        f"Local address: {local}",
        f"Remote address: {remote}",
        "Local Port: 0",
        "Remote Port: 0",
        "Application ID:",
        "User SID: <invalid>",
        f"Failure type: {failure_type}",
        "Type specific info:",
        f"Failure error code:0x{code:08x}",
        err.message if err else "Unknown error",
        "",
        f"Failure point: {point}",
    ]
    return [(p + line).rstrip(" ") if line else p.rstrip(" ") for line in body]


def iter_wfpdiag(
    start: datetime,
    *,
    local: str,
    remote: str,
    failures: Iterable[tuple[int, str, str]],
    filler_per_event: int = 6,
) -> Iterator[str]:
    """Filler trace lines then one failure block per (code, failure type, point); the bench reuses this."""
    t = start
    for n, (code, failure_type, point) in enumerate(failures):
        for i in range(filler_per_event):
            t += timedelta(milliseconds=7)
            yield f"[0]0368.03A4::{wfp_time(t)} [ikeext] 3038|{remote}| {_FILLER[(n + i) % len(_FILLER)]}"
        t += timedelta(milliseconds=3)
        yield from wfpdiag_event(
            t, local=local, remote=remote, code=code, failure_type=failure_type, point=point
        )


def wfpdiag_sum(
    ctx: Context, *, events: int, lost: int = 0, format_errors: int = 0, unknown: int = 486
) -> list[str]:
    folder = hashlib.md5(ctx.target_name.encode(), usedforsecurity=False).hexdigest()
    stamp = (ctx.when - timedelta(minutes=2)).strftime("%Y-%m-%dT%H-%M-%S")
    rows = [
        (36 * events // 2169 or 1, "ike_addr_utils_c844", "a0c064ca-d954-350a-8b2f-1a7464eef8b6"),
        (12 * events // 2169 or 1, "ike_addr_utils_c857", "a0c064ca-d954-350a-8b2f-1a7464eef8b6"),
        (96 * events // 2169 or 1, "ike_addr_utils_c832", "a0c064ca-d954-350a-8b2f-1a7464eef8b6"),
        (6, "ike_bfe_callbacks_c133", "1dc2d67f-8381-6303-e314-6c1452eeb529"),
        (12, "ike_sa_management_c5698", "7857a320-42ee-6e90-d5d9-3f414e3ea2d3"),
        (6, "ike_sa_management_c8447", "7857a320-42ee-6e90-d5d9-3f414e3ea2d3"),
    ]
    rule = "+" + "-" * 83 + "+"
    return [
        "Files Processed:",
        f"\tC:\\Resources\\directory\\{folder}.GatewayTenantWorker.DiagnosticsStorage\\{stamp}\\wfpdiag.etl",
        f"Total Buffers Processed {max(events // 270, 1)}",
        f"Total Events  Processed {events}",
        f"Total Events  Lost      {lost}",
        f"Total Format  Errors    {format_errors}",
        f"Total Formats Unknown   {unknown}",
        f"Elapsed Time            {330 if not lost else 47} sec",
        rule,
        "|EventCount    EventName            EventType   TMF                                 |",
        rule,
        *(f"|{count:>10}    ikeext               {etype}  {tmf}|" for count, etype, tmf in rows),
    ]


_TSI = (
    "Number of TSIs 2: StartAddress 10.20.0.0 EndAddress 10.20.255.255 PortStart 0 PortEnd 65535 Protocol 0, "
    "StartAddress 192.168.100.0 EndAddress 192.168.100.255 PortStart 0 PortEnd 65535 Protocol 0 "
    "Number of TSRs 1:StartAddress 0.0.0.0 EndAddress 255.255.255.255 PortStart 0 PortEnd 65535 Protocol 0"
)


def ike_logs_policy_mismatch(ctx: Context, attempts: int = 3) -> list[str]:
    """IkeLogs.txt as in the overview's example: peer offers DES/MD5, Azure answers Policy Mismatch."""
    r = f"Remote {ctx.peer_ip}:500: Local {ctx.azure_ip}:500:"
    lines = []
    for n in range(attempts):
        tsid = f"0x{(ctx.seed + n) % 0xFFF:x}"
        lines += [
            f"{r} [RECEIVED][SA_AUTH] Received IKE AUTH message",
            f"{r} Received Traffic Selector payload request- [Tsid {tsid}  ]{_TSI}",
            f"{r} [SEND] Proposed Traffic Selector payload will be (Final Negotiated) - [Tsid {tsid}  "
            f"]{_TSI}",
            f"{r} [RECEIVED]Received IPSec payload: Policy1:Cipher=DESIntegrity=Md5",
            "IkeCleanupQMNegotiation called with error 13868 and flags a",
            f"{r} [SEND][NOTIFY] Sending Notify Message - Policy Mismatch",
        ]
    return lines


def ike_logs_unreachable(ctx: Context, attempts: int = 3, retransmits: int = 4) -> list[str]:
    """IkeLogs.txt when the peer never answers: SA_INIT sent, retransmitted, then timed out."""
    r = f"Remote {ctx.peer_ip}:500: Local {ctx.azure_ip}:500:"
    lines = []
    for _ in range(attempts):
        lines.append(f"{r} [SEND][SA_INIT] Sending IKE SA_INIT message for new negotiation")
        lines += [
            f"{r} [SEND][SA_INIT] Retransmitting IKE SA_INIT message, attempt {i}"
            for i in range(1, retransmits)
        ]
        lines.append(f"{r} [LOCAL_MSG] IKE negotiation timed out waiting for the peer")
        lines.append("IkeCleanupMMNegotiation called with error 13805 and flags 0")
    return lines


# --- profiles -----------------------------------------------------------------------------------------------

Files = dict[str, list[str] | bytes]


def _healthy(c: Context) -> Files:
    since = c.when - timedelta(days=3, hours=4, minutes=12)
    return {"ConnectionStats.txt": connection_stats("Connected", c.peer_ip, 1_288_490, 3_531_101, since)}


def _gateway_healthy(c: Context) -> Files:
    since = c.when - timedelta(days=9, minutes=41)
    return {
        "ConnectionStats.txt": [
            *connection_stats("Connected", c.peer_ip, 52_428_800, 73_400_320, since),
            "",
            *connection_stats("Connected", c.peer_ip_2, 8_192_000, 6_291_456, since + timedelta(hours=5)),
        ],
        "CPUStats.txt": cpu_stats(7, 1520),
    }


def _down(c: Context, remote: str = "") -> list[str]:
    return connection_stats("NotConnected", remote)


def _auth_psk_mismatch(c: Context) -> Files:
    failures = [(codes.AUTH_FAIL, "IKE/Authip Main Mode Failure", "Remote")] * 4
    return {
        "ConnectionStats.txt": _down(c),
        "CPUStats.txt": cpu_stats(2, 641),
        "IKEErrors.txt": ike_errors(
            [
                (
                    "Authentication failed. Check shared key. Check crypto. Check lifetimes.",
                    "Peer failed",
                    codes.AUTH_FAIL,
                )
            ]
        ),
        "Scrubbed-wfpdiag.txt": list(
            iter_wfpdiag(c.when - timedelta(minutes=2), local=c.azure_ip, remote=c.peer_ip, failures=failures)
        ),
        "wfpdiag.txt.sum": wfpdiag_sum(c, events=2169),
    }


def _ike_policy_mismatch(c: Context) -> Files:
    return {
        "ConnectionStats.txt": _down(c, c.peer_ip),
        "CPUStats.txt": cpu_stats(3, 702),
        "IkeLogs.txt": ike_logs_policy_mismatch(c),
    }


def _peer_unreachable(c: Context) -> Files:
    return {
        "ConnectionStats.txt": _down(c),
        "CPUStats.txt": cpu_stats(1, 688),
        "IkeLogs.txt": ike_logs_unreachable(c),
    }


def _cpu_exceeded(c: Context) -> Files:
    since = c.when - timedelta(hours=17)
    return {
        "ConnectionStats.txt": connection_stats("Connected", c.peer_ip, 9_663_676_416, 11_811_160_064, since),
        "CPUStats.txt": cpu_stats(97, 212),
    }


def _connections_not_connected(c: Context) -> Files:
    return {
        "ConnectionStats.txt": [*_down(c, c.peer_ip), "", *_down(c, c.peer_ip_2)],
        "CPUStats.txt": cpu_stats(4, 1490),
    }


def _not_configured(c: Context) -> Files:
    return {"ConnectionStats.txt": _down(c), "CPUStats.txt": cpu_stats(2, 655)}


def _marked_standby(c: Context) -> Files:
    return {"ConnectionStats.txt": _down(c, c.peer_ip), "CPUStats.txt": cpu_stats(1, 1602)}


def _wfp_parse_error(c: Context) -> Files:
    """The decoder choked: unformatted events, binary debris, and failure blocks cut before their codes."""
    failures = [(codes.AUTH_FAIL, "IKE/Authip Main Mode Failure", "Remote")] * 2
    lines = list(
        iter_wfpdiag(c.when - timedelta(minutes=2), local=c.azure_ip, remote=c.peer_ip, failures=failures)
    )
    size = len(lines) // 2  # filler (6 lines) + event block (21 lines) per failure
    first = lines[: 6 + 16]  # up to "Failure type:" of the first event
    second = lines[size : size + 6 + 17]  # up to "Type specific info:" of the second
    unknown = [
        f"Unknown( {n}): GUID=a0c064ca-d954-350a-8b2f-1a7464eef8b6 (No Format Information found)."
        for n in (64, 12)
    ]
    garbage = (
        b"\x8b\x1f\xc3\x00\xfe\xff\x9d\x07 Fa\xefl\xffure t\x00ype: \xc0\xaf\r\n\x01\x02\x03\xfd\xfc\r\n"
    )
    text = (CRLF.join([*first, *unknown]) + CRLF).encode() + garbage + CRLF.join(second).encode()
    return {
        "ConnectionStats.txt": _down(c),
        "CPUStats.txt": cpu_stats(3, 690),
        "Scrubbed-wfpdiag.txt": text,
        "wfpdiag.txt.sum": wfpdiag_sum(c, events=904, lost=37, format_errors=12, unknown=511),
    }


def _invalid_payload(c: Context) -> Files:
    failures = [(codes.INVALID_PAYLOAD, "IKE/Authip Main Mode Failure", "Local")] * 3
    return {
        "ConnectionStats.txt": _down(c, c.peer_ip),
        "CPUStats.txt": cpu_stats(2, 660),
        "IKEErrors.txt": ike_errors(
            [("On-prem device sent invalid payload.", "IkeFindPayloadInPacket failed", codes.INVALID_PAYLOAD)]
        ),
        "Scrubbed-wfpdiag.txt": list(
            iter_wfpdiag(c.when - timedelta(minutes=2), local=c.azure_ip, remote=c.peer_ip, failures=failures)
        ),
        "wfpdiag.txt.sum": wfpdiag_sum(c, events=1877),
    }


_BUILDERS: dict[str, Callable[[Context], Files]] = {
    "healthy": _healthy,
    "gateway_healthy": _gateway_healthy,
    "auth_psk_mismatch": _auth_psk_mismatch,
    "ike_policy_mismatch": _ike_policy_mismatch,
    "peer_unreachable": _peer_unreachable,
    "cpu_exceeded": _cpu_exceeded,
    "connections_not_connected": _connections_not_connected,
    "not_configured_on_gateway": _not_configured,
    "marked_standby": _marked_standby,
    "wfp_parse_error": _wfp_parse_error,
    "invalid_payload": _invalid_payload,
}
assert _BUILDERS.keys() == PROFILES.keys()


def build_log_zip(profile: str, *, target_name: str, when: datetime) -> bytes:
    """The zip Azure would write for this fault profile; raises KeyError for an unknown profile."""
    files = _BUILDERS[profile](Context.make(target_name, when))
    return zip_files(files, when)


def zip_files(files: Files, when: datetime) -> bytes:
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            data = content if isinstance(content, bytes) else (CRLF.join(content) + CRLF).encode("utf-8")
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


def write_many_entries_zip(
    out: BinaryIO, entries: int, *, claimed: int | None = None, zip64: bool = False
) -> None:
    """A hostile zip of `entries` empty stored members (`f0000001.txt`, ...), written straight to `out`.

    `claimed` is the count the end record states (it may lie); `zip64` writes the ZIP64 end records as a
    zip of more than 65,535 entries must. Built by hand: zipfile would keep 1.5 million ZipInfos in memory."""
    local = struct.Struct("<4s5H3L2H")
    central = struct.Struct("<4s6H3L5H2L")
    offsets: list[int] = []
    pos = 0
    for n in range(entries):
        name = b"f%07d.txt" % n
        offsets.append(pos)
        block = local.pack(b"PK\x03\x04", 20, 0, 0, 0, 0x21, 0, 0, 0, len(name), 0) + name
        out.write(block)
        pos += len(block)
    start = pos
    for n, offset in enumerate(offsets):
        name = b"f%07d.txt" % n
        out.write(
            central.pack(b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, 0, 0, 0, len(name), 0, 0, 0, 0, 0, offset)
        )
        out.write(name)
        pos += central.size + len(name)
    size = pos - start
    count = entries if claimed is None else claimed
    if zip64:
        out.write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, start))
        out.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, pos, 1))
        count16, size32, start32 = 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF
    else:
        count16, size32, start32 = min(count, 0xFFFF), size, start
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count16, count16, size32, start32, 0))


def raw_zip(name: str, data: bytes, *, crc: int, size: int, method: int = 8, flags: int = 0) -> bytes:
    """A one-member zip written by hand, so the sizes and CRC in its headers can be anything we like."""
    encoded = name.encode()
    local = struct.pack(
        "<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0x21, crc, len(data), size, len(encoded), 0
    )
    central = struct.pack(
        "<4s6H3L5H2L",
        b"PK\x01\x02",
        20,
        20,
        flags,
        method,
        0,
        0x21,
        crc,
        len(data),
        size,
        len(encoded),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    body = local + encoded + data
    cd = central + encoded
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(cd), len(body), 0)
    return body + cd + end


def zip_bomb(name: str = "Scrubbed-wfpdiag.txt", gib: int = 1) -> bytes:
    """`gib` GiB of zeros deflated to ~1 MiB, by repeating one fully flushed block (fast, no disk)."""
    block_size = 1024 * 1024
    zeros = bytes(block_size)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.flush(zlib.Z_FINISH)
    blocks = 1024 * gib
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(zeros, crc)
    return raw_zip(name, block * blocks + tail, crc=crc, size=(blocks * block_size) & 0xFFFFFFFF)
