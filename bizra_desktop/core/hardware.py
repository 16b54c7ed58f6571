"""What the machine offers a model: free RAM, free VRAM and CPU cores."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache

MIB = 1024 * 1024
SMI_FIELDS = "index,name,memory.free,memory.total"


@dataclass(frozen=True)
class MemoryBudget:
    ram_available: int
    vram_free: int | None  # None: no NVIDIA GPU visible (or no way to ask)
    gpu_device: int | None = None  # the one GPU the VRAM is on; None: every GPU together

    def describe(self) -> str:
        text = f"{self.ram_available / 1e9:.1f} GB RAM free"
        if self.vram_free is not None:
            text += f", {self.vram_free / 1e9:.1f} GB VRAM free"
        return text


def _meminfo_linux(field: str) -> int | None:
    """A /proc/meminfo line in bytes: "MemAvailable:", "MemTotal:"."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _memory_status_windows() -> tuple[int, int] | None:
    """(total, available) physical memory from GlobalMemoryStatusEx."""

    class MemoryStatusEx(ctypes.Structure):
        _fields_ = [
            ("dwLength", ctypes.c_ulong),
            ("dwMemoryLoad", ctypes.c_ulong),
            ("ullTotalPhys", ctypes.c_ulonglong),
            ("ullAvailPhys", ctypes.c_ulonglong),
            ("ullTotalPageFile", ctypes.c_ulonglong),
            ("ullAvailPageFile", ctypes.c_ulonglong),
            ("ullTotalVirtual", ctypes.c_ulonglong),
            ("ullAvailVirtual", ctypes.c_ulonglong),
            ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
        ]

    status = MemoryStatusEx()
    status.dwLength = ctypes.sizeof(MemoryStatusEx)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined,unused-ignore]
        return None
    return int(status.ullTotalPhys), int(status.ullAvailPhys)


def _physical_memory() -> int:
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def _ram(available: bool) -> int:
    """Free (`available`) or total physical memory."""
    if sys.platform == "win32":
        status = _memory_status_windows()
        measured = status[1 if available else 0] if status else None
    else:
        measured = _meminfo_linux("MemAvailable:" if available else "MemTotal:")
    # macOS and anything else: total physical memory is the best cheap answer.
    return measured if measured is not None else _physical_memory()


def available_ram() -> int:
    return _ram(available=True)


def total_ram() -> int:
    return _ram(available=False)


@dataclass(frozen=True)
class Gpu:
    index: int  # as nvidia-smi and NVML number it (PCI bus order)
    name: str
    free: int
    total: int

    def describe(self) -> str:
        free, total = self.free / 1e9, self.total / 1e9
        return f"GPU {self.index}: {self.name} ({free:.1f} of {total:.1f} GB free)"


def list_gpus() -> list[Gpu]:
    """The NVIDIA GPUs, from NVML when installed, else nvidia-smi; empty when there are none."""
    try:
        import pynvml  # noqa: PLC0415 - optional dependency

        pynvml.nvmlInit()
        try:
            gpus = []
            for index in range(pynvml.nvmlDeviceGetCount()):
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                name = pynvml.nvmlDeviceGetName(handle)
                memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
                gpus.append(
                    Gpu(
                        index,
                        name.decode() if isinstance(name, bytes) else str(name),
                        int(memory.free),
                        int(memory.total),
                    )
                )
            return gpus
        finally:
            pynvml.nvmlShutdown()
    except Exception:
        pass
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        output = subprocess.run(
            [smi, f"--query-gpu={SMI_FIELDS}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_smi_gpus(output)


def parse_smi_gpus(output: str) -> list[Gpu]:
    """GPUs from `nvidia-smi --query-gpu=index,name,memory.free,memory.total` (CSV, MiB);
    lines that are not such a row (a driver error message) are skipped."""
    gpus = []
    for line in output.splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != 4 or not all(f.isdigit() for f in (fields[0], *fields[2:])):
            continue
        index, name, free, total = fields
        gpus.append(Gpu(int(index), name, int(free) * MIB, int(total) * MIB))
    return gpus


def free_vram(gpus: list[Gpu], device: int | None = None) -> int | None:
    """Free VRAM for a model: on the chosen GPU, or on all of them together (llama.cpp splits
    the layers across every GPU). None when there is no such GPU."""
    chosen = [gpu for gpu in gpus if device is None or gpu.index == device]
    return sum(gpu.free for gpu in chosen) if chosen else None


def memory_budget(device: int | None = None) -> MemoryBudget:
    """Free RAM and the free VRAM a model gets: on GPU `device` while it is present, else on
    every GPU together."""
    gpus = list_gpus()
    if device is not None and not any(gpu.index == device for gpu in gpus):
        device = None
    return MemoryBudget(available_ram(), free_vram(gpus, device), device)


def process_memory(pid: int | None) -> int | None:
    """Resident memory of a process (None: this one), or None where it cannot be read."""
    if sys.platform == "win32":
        counters = _windows_memory_counters(pid)
        return counters[0] if counters else None
    return _proc_status_bytes(pid, "VmRSS:")


def peak_memory(pid: int | None) -> int | None:
    """The most resident memory a process has had (None: this one)."""
    if sys.platform == "win32":
        counters = _windows_memory_counters(pid)
        return counters[1] if counters else None
    return _proc_status_bytes(pid, "VmHWM:")


def _proc_status_bytes(pid: int | None, field: str) -> int | None:
    try:
        with open(f"/proc/{pid or 'self'}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _windows_memory_counters(pid: int | None) -> tuple[int, int] | None:
    """(working set, peak working set) of a process, from GetProcessMemoryInfo."""

    class Counters(ctypes.Structure):
        _fields_ = [
            ("cb", ctypes.c_ulong),
            ("PageFaultCount", ctypes.c_ulong),
            ("PeakWorkingSetSize", ctypes.c_size_t),
            ("WorkingSetSize", ctypes.c_size_t),
            ("QuotaPeakPagedPoolUsage", ctypes.c_size_t),
            ("QuotaPagedPoolUsage", ctypes.c_size_t),
            ("QuotaPeakNonPagedPoolUsage", ctypes.c_size_t),
            ("QuotaNonPagedPoolUsage", ctypes.c_size_t),
            ("PagefileUsage", ctypes.c_size_t),
            ("PeakPagefileUsage", ctypes.c_size_t),
        ]

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
    query_information, vm_read = 0x0400, 0x0010
    handle = (
        kernel32.GetCurrentProcess()
        if pid is None
        else kernel32.OpenProcess(query_information | vm_read, False, pid)
    )
    if not handle:
        return None
    counters = Counters()
    counters.cb = ctypes.sizeof(Counters)
    try:
        ok = ctypes.windll.psapi.GetProcessMemoryInfo(  # type: ignore[attr-defined,unused-ignore]
            handle, ctypes.byref(counters), counters.cb
        )
    finally:
        if pid is not None:
            kernel32.CloseHandle(handle)
    return (int(counters.WorkingSetSize), int(counters.PeakWorkingSetSize)) if ok else None


@cache
def physical_cores() -> int:
    """Cores for llama.cpp threads: hyper-threads share an FPU and slow decoding down."""
    logical = os.cpu_count() or 1
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            text = cpuinfo.read()
    except OSError:
        return logical
    cores = set()
    for block in text.split("\n\n"):
        fields = dict(
            (name.strip(), value.strip())
            for name, _, value in (line.partition(":") for line in block.splitlines())
        )
        if "core id" in fields:
            cores.add((fields.get("physical id", "0"), fields["core id"]))
    return max(1, min(logical, len(cores))) if cores else logical
