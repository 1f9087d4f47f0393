"""CPU time of a running process and its children, read from /proc."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["process_cpu"]


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a running process and its children
    (nginx's workers), read from /proc; 0 where there is no /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(process_cpu(int(child)) for child in children)
