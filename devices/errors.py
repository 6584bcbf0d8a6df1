"""Device-layer errors. Vendor exceptions (NVMLError, OSError from sysfs, subprocess failures) are
translated into these at the boundary, so callers never catch a vendor type."""
from __future__ import annotations


class DeviceError(Exception):
    """Base class. ``hint`` says how to fix or enable the thing that failed."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


class NotPresent(DeviceError):
    """The file, library or tool does not exist on this machine."""


class NoPermission(DeviceError):
    """It exists but this user may not read it (RAPL since CVE-2020-8694, powermetrics without sudo)."""


class Unsupported(DeviceError):
    """The hardware or driver does not offer this measurement."""


class DeviceLost(DeviceError):
    """The device disappeared or stopped answering mid-run."""
