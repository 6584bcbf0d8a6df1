"""The host CPU's identity read through ``root`` only: model, cores, architecture.

Why a module of its own (issue 20, item 6): on a fixture tree (``EDGEPROF_SYSROOT``) the CPU
identity fell back to the machine running edgeprof — ``arch: x86_64`` from ``os.uname()`` and
``physical_cores: 2`` from psutil on an Orin tree. Here every figure comes from files under
``root`` (``/proc/cpuinfo``, then sysfs ``/sys/devices/system/cpu``); the live OS (uname, psutil)
is asked only when ``root`` IS the live OS. A figure found nowhere is None, and ``unknown`` says
why — never a value from another machine.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from .sysfs import FileReader

#: ``CPU architecture`` in an ARM /proc/cpuinfo -> the kernel's machine name
ARM_ARCH = {"8": "aarch64", "9": "aarch64", "7": "armv7l", "6": "armv6l"}


def is_live(root: Path | str) -> bool:
    return Path(root).resolve() == Path("/")


def parse_cpuinfo(text: str) -> dict[str, object]:
    model, flags, cores, arm_arch, vendor = None, [], set(), None, None
    n_logical, phys = 0, None
    for line in text.splitlines():
        key, _, val = line.partition(":")
        key, val = key.strip(), val.strip()
        if key == "processor":
            n_logical += 1
        elif key in ("model name", "Model", "Hardware") and model is None and val:
            model = val
        elif key in ("flags", "Features") and not flags:
            flags = val.split()
        elif key == "physical id":
            phys = val
        elif key == "core id":
            cores.add((phys, val))
        elif key == "vendor_id" and vendor is None:
            vendor = val
        elif key == "CPU architecture" and arm_arch is None:
            arm_arch = ARM_ARCH.get(val.split()[0] if val else "")
    x86 = vendor in ("GenuineIntel", "AuthenticAMD", "HygonGenuine") or "sse2" in flags
    # long mode ("lm") or AVX/SSE4.2 (no 32-bit-only x86 has them) mean x86_64
    arch = arm_arch or ("x86_64" if x86 and {"lm", "avx", "sse4_2"} & set(flags) else ("x86" if x86 else None))
    return {"model": model, "flags": flags, "logical": n_logical or None, "physical": len(cores) or None,
            "arch": arch}


def _sysfs_cores(reader: FileReader) -> tuple[int | None, int | None]:
    """(logical, physical) from ``/sys/devices/system/cpu``: one ``cpuN`` per logical CPU; a
    physical core per distinct (package, cluster, core) id in ``topology/``."""
    cpus = reader.glob("/sys/devices/system/cpu/cpu[0-9]*")
    if not cpus:
        return None, None
    ids = set()
    for c in cpus:
        parts = tuple(reader.try_text(f"{c}/topology/{f}") for f in ("physical_package_id", "cluster_id", "core_id"))
        if parts[2] is None:
            return len(cpus), None
        ids.add(parts)
    return len(cpus), len(ids)


def cpu_identity(reader: FileReader, root: Path | str) -> dict[str, object]:
    """``model``, ``flags``, ``logical``, ``physical``, ``arch`` and ``unknown`` {figure: why}."""
    live = is_live(root)
    info = parse_cpuinfo(reader.try_text("/proc/cpuinfo") or "")
    unknown: dict[str, str] = {}
    where = "under the live OS" if live else f"under the sysroot {root}"
    logical, physical = info["logical"], info["physical"]
    if logical is None or physical is None:
        s_logical, s_physical = _sysfs_cores(reader)
        logical, physical = logical or s_logical, physical or s_physical
    if live:
        import psutil

        logical = logical or psutil.cpu_count() or 1
        physical = physical or psutil.cpu_count(logical=False) or logical
    arch = os.uname().machine if live else info["arch"]
    if arch is None:
        m = re.search(r"EABI:\s*(\w+)", reader.try_text("/etc/nv_tegra_release") or "")
        arch = m.group(1) if m else None
    model = info["model"] or (os.uname().machine if live else None)
    for key, value, why in (("logical_cores", logical, f"no /proc/cpuinfo and no /sys/devices/system/cpu/cpuN {where}"),
                            ("physical_cores", physical, f"no core ids in /proc/cpuinfo or sysfs topology {where}"),
                            ("arch", arch, f"/proc/cpuinfo {where} names no architecture"),
                            ("model", model, f"no /proc/cpuinfo model {where}")):
        if value is None:
            unknown[key] = why
    return {**info, "model": model, "logical": logical, "physical": physical, "arch": arch, "unknown": unknown}
