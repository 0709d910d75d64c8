"""What counts as work inside a user server, read from jupyter-server's own managers.

Each probe returns a small summary with human-readable ``reasons`` when it finds work.
None of them looks at HTTP or websocket traffic: an open browser tab is not work.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import psutil

from .gpu import GpuSource
from .registry import WorkRegistry

log = logging.getLogger(__name__)


@dataclass
class Probe:
    total: int = 0
    busy: int = 0
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"total": self.total, "busy": self.busy}


def probe_kernels(kernel_manager) -> Probe:
    """Kernels whose execution_state is ``busy``: a cell is running, even a silent one."""
    probe = Probe()
    if kernel_manager is None:
        return probe
    for kernel_id in list(kernel_manager.list_kernel_ids()):
        try:
            kernel = kernel_manager.get_kernel(kernel_id)
        except KeyError:  # shut down while we iterate
            continue
        probe.total += 1
        if getattr(kernel, "execution_state", None) == "busy":
            probe.busy += 1
    if probe.busy:
        probe.reasons.append(f"{probe.busy} of {probe.total} kernel(s) executing")
    return probe


def foreground_command(ptyproc) -> str | None:
    """Name of the process running in the terminal's foreground, or None at the shell prompt.

    The pty's foreground process group differs from the shell's own group while a command
    runs in the foreground; background jobs (``cmd &``) do not count. When the process group
    cannot be read, any child process of the shell counts.
    """
    shell_pid = ptyproc.pid
    try:
        foreground = os.tcgetpgrp(ptyproc.fd)
        if foreground == os.getpgid(shell_pid):
            return None
        members = [p for p in psutil.process_iter(["pid", "name"]) if _pgid(p.pid) == foreground]
        return members[0].info["name"] if members else f"process group {foreground}"
    except (OSError, psutil.Error):
        pass
    try:
        children = psutil.Process(shell_pid).children()
    except psutil.Error:
        return None
    return children[0].name() if children else None


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def probe_terminals(terminal_manager) -> Probe:
    probe = Probe()
    if terminal_manager is None:
        return probe
    for name, terminal in list(getattr(terminal_manager, "terminals", {}).items()):
        probe.total += 1
        ptyproc = getattr(terminal, "ptyproc", None)
        if ptyproc is None or not ptyproc.isalive():
            continue
        command = foreground_command(ptyproc)
        if command:
            probe.busy += 1
            probe.reasons.append(f"terminal {name} running {command}")
    return probe


def probe_work(registry: WorkRegistry) -> tuple[dict[str, int], list[str]]:
    counts = registry.counts()
    reasons = [f"{kind} in progress ({n})" for kind, n in sorted(counts.items())]
    return counts, reasons


def probe_gpu(source: GpuSource, busy_percent: int) -> tuple[list[int], list[str]]:
    values = source.utilisation()
    reasons = [f"GPU {i} at {value}%" for i, value in enumerate(values) if value >= busy_percent]
    return values, reasons
