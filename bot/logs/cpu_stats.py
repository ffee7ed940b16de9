"""CPUStats.txt: "Current CPU Usage : 0 % Current Memory Available : 641 MBs" (one line, several per file
when the gateway has several instances; the worst reading counts)."""

from __future__ import annotations

import re
from typing import Any

from bot.logs.base import LineSample, make_finding
from bot.logs.sizes import parse_size
from bot.models import Finding, Severity

_CPU = re.compile(r"CPU\s+Usage\s*:\s*(\d+(?:\.\d+)?)\s*%", re.IGNORECASE)
_MEM = re.compile(r"Memory\s+Available\s*:\s*(\d[\d,]*(?:\.\d+)?)\s*([KMGT]?i?B)s?\b", re.IGNORECASE)

CPU_EXCEEDED = 95.0  # Azure's GatewayCPUUsageExceeded threshold
CPU_HIGH = 80.0


class CpuStatsParser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.cpu: list[float] = []
        self.memory: list[int] = []
        self._lines = LineSample(4)

    def feed(self, line: str) -> None:
        matched = False
        for m in _CPU.finditer(line):
            if len(self.cpu) < 64:
                self.cpu.append(float(m.group(1)))
            matched = True
        for m in _MEM.finditer(line):
            size = parse_size(f"{m.group(1)} {m.group(2)}")
            if size is not None and len(self.memory) < 64:
                self.memory.append(size)
            matched = True
        if matched:
            self._lines.add(line)

    def excerpt(self) -> list[str]:
        return self._lines.lines()

    def finish(self) -> list[Finding]:
        if not self.cpu:
            return []
        cpu = max(self.cpu)
        mem = min(self.memory) if self.memory else None
        mem_text = f", {mem // (1024 * 1024)} MB memory available" if mem is not None else ""
        common: dict[str, Any] = {
            "source": self.source,
            "key": "cpu",
            "evidence": self._lines.lines(),
            "cpu_percent": cpu,
            "memory_available_bytes": mem,
        }
        if cpu >= CPU_EXCEEDED:
            return [
                make_finding(
                    severity=Severity.ERROR,
                    title=f"Gateway CPU usage exceeded ({cpu:g} %)",
                    explanation=(
                        f"The gateway's CPU is at {cpu:g} %{mem_text}, above the 95 % at which Azure reports "
                        "GatewayCPUUsageExceeded: tunnels can drop, IKE can time out and throughput suffers."
                    ),
                    fix=(
                        "Look for a traffic spike or more tunnels/flows than the SKU handles; move to a "
                        "bigger SKU (`az network vnet-gateway update --sku …`) or spread tunnels over more "
                        "gateways."
                    ),
                    **common,
                )
            ]
        if cpu >= CPU_HIGH:
            return [
                make_finding(
                    severity=Severity.WARNING,
                    title=f"Gateway CPU high ({cpu:g} %)",
                    explanation=f"The gateway's CPU is at {cpu:g} %{mem_text}; Azure faults above 95 %.",
                    fix="Watch the gateway's CPU metrics; plan a bigger SKU if this is the usual load.",
                    **common,
                )
            ]
        return [
            make_finding(
                severity=Severity.INFO,
                title=f"Gateway CPU normal ({cpu:g} %)",
                explanation=f"The gateway's CPU is at {cpu:g} %{mem_text}.",
                fix=None,
                **common,
            )
        ]
