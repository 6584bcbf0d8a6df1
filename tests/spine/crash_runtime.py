"""A real llama.cpp engine that crashes the way native runtimes do, on purpose, mid-decode.

Used by the isolation tests: the worker must become a ``failed`` row with the signal, and the
next case must still run. ``mode`` comes from the artifact dict so no state crosses processes.
"""
from __future__ import annotations

import ctypes
import os
import signal

from edgeprof.runtimes.llamacpp import LlamaCppEngine


class CrashingEngine(LlamaCppEngine):
    def __init__(self, path, placement, n_ctx, mode: str, after: int):
        super().__init__(path, placement, n_ctx)
        self.mode, self.after, self.n = mode, after, 0

    def decode(self, token: int) -> int:
        self.n += 1
        if self.n == self.after:
            if self.mode == "segfault":
                ctypes.string_at(0)  # a real SIGSEGV, as a native bug would raise
            elif self.mode == "sigkill":
                os.kill(os.getpid(), signal.SIGKILL)  # what the OOM killer does
            elif self.mode == "raise":
                raise MemoryError("simulated allocation failure")
            elif self.mode == "hang":
                import time

                time.sleep(3600)
        return super().decode(token)


def load(artifact, placement, n_ctx):
    return CrashingEngine(artifact["path"], placement, n_ctx, artifact["crash_mode"], artifact.get("crash_after", 3))
