"""GPU utilisation behind a small interface: NVML when a GPU and ``pynvml`` exist, else none.

A ``GpuSource`` returns one utilisation percentage per visible GPU (0-100), or an empty list
when there is no GPU. Tests use :class:`StaticGpuSource`; nothing here needs a GPU.
"""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger(__name__)


class GpuSource(Protocol):
    def utilisation(self) -> list[int]:
        """Current utilisation (percent) of each GPU; [] when there is none."""


class NoGpu:
    def utilisation(self) -> list[int]:
        return []


class StaticGpuSource:
    """A fake source for tests: reports whatever ``values`` currently holds."""

    def __init__(self, values: list[int] | None = None) -> None:
        self.values = list(values or [])

    def utilisation(self) -> list[int]:
        return list(self.values)


class NvmlGpuSource:
    """NVIDIA Management Library through ``pynvml`` (the nvidia-ml-py package)."""

    def __init__(self, nvml) -> None:
        self._nvml = nvml
        nvml.nvmlInit()
        self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]

    def utilisation(self) -> list[int]:
        values = []
        for handle in self._handles:
            try:
                values.append(int(self._nvml.nvmlDeviceGetUtilizationRates(handle).gpu))
            except Exception as error:  # a GPU that stops answering is reported, not fatal
                log.warning("hybridhub activity: NVML utilisation failed: %s", error)
        return values


def detect_gpu_source() -> GpuSource:
    """NVML if importable and initialisable, otherwise :class:`NoGpu`."""
    try:
        import pynvml  # optional: only GPU images install nvidia-ml-py
    except ImportError:
        return NoGpu()
    try:
        return NvmlGpuSource(pynvml)
    except Exception as error:  # no driver / no device: a CPU server with pynvml installed
        log.info("hybridhub activity: no NVML GPU (%s)", error)
        return NoGpu()
