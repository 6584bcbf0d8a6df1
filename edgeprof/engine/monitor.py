"""The device's sensors read live outside a run (the TUI's sensors screen between runs).

The same path a run takes — the devices ``bench`` opens, the total-power rule, the ``Sampler``
thread and ``sample`` events with the headline power — so a reading between runs is the reading
a run would record. A view stays a view: it starts a monitor and folds its events, it never reads
hardware itself. Never while a run measures: its reads would be load on the machine being
measured, so the caller stops it before a run starts.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from edgeprof.engine import events as ev
from edgeprof.engine.fanout import Fanout
from edgeprof.results.described import DeviceDesc

DEFAULT_HZ = 2.0


class Monitor:
    """``start()`` opens the devices and samples the one a default case runs on; ``stop()``
    closes them. Events go to ``listener`` from the sampler's thread (append to a queue)."""

    def __init__(self, root: Path, listener: Callable[[ev.Event], None], hz: float = DEFAULT_HZ):
        self.root, self.hz = root, hz
        self.fanout = Fanout([listener])
        self.fanout.want_samples = True
        self.devices: list = []
        self.sampler = None
        self.device = DeviceDesc()
        self.power_label = ""

    def start(self) -> "Monitor":
        from edgeprof.engine.device_choice import bench_device, open_devices, power_source
        from edgeprof.engine.sampler import Sampler
        from edgeprof.engine.session import describe_devices

        self.devices = open_devices(self.root)
        try:
            primary = bench_device(self.devices, {})
            self.device, self.power_label = describe_devices(self.devices, primary)
            self.sampler = Sampler(primary.sensors(), self.hz,
                                   on_sample=self.fanout.sample_hook(power_source(primary))).start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        sampler, self.sampler = self.sampler, None
        if sampler is not None:
            sampler.stop()
        devices, self.devices = self.devices, []
        for d in devices:
            d.close()
