"""A worker's result to the main process through a file, not a pipe: the demo build's workers send
each model's prepared files (a month of rows and their profiles, ~8 MB) to the process that
writes them.

Pickled through the pool's pipe, that cost ~50 ms to pickle in the worker and a copy through the
kernel in 64 KB reads plus ~10 ms to unpickle in the main process, and the main process (the
build's bottleneck) read it under the GIL while writing. Here the worker pickles with protocol 5's
out-of-band buffers (NumPy's and Arrow's column buffers are not copied into the pickle), writes
those buffers into one file (on /dev/shm when there is one: memory, not disk), and sends only the
small pickle and the buffers' sizes; the main process maps the file and unpickles on top of the
mapping, copying nothing. The standard library has the pieces (pickle.PickleBuffer, mmap), not
this combination.
"""

from __future__ import annotations

import mmap
import os
import pickle
import tempfile
from dataclasses import dataclass
from typing import Any

_ALIGN = 64  # each buffer starts on a 64-byte boundary: the arrays built on it are aligned


@dataclass(frozen=True)
class Spilled:
    """A pickled object whose large buffers wait in a file (`path`), each `sizes[i]` bytes long."""

    data: bytes
    path: str
    sizes: tuple[int, ...]


# Room the results waiting to be written may take (the build runs up to 40 models ahead, ~8 MB
# each): below it, /dev/shm is not used (a container's is 64 MB unless configured).
SHM_NEEDED = 1 << 30


def spill_dir(fallback: str, shm: str = "/dev/shm") -> str:
    """A fresh directory for spilled results: under /dev/shm (memory) when it exists with room,
    else in `fallback`. The caller removes it (results left by an interrupted build)."""
    base = fallback
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        free = os.statvfs(shm)
        if free.f_bavail * free.f_frsize >= SHM_NEEDED:
            base = shm
    return tempfile.mkdtemp(prefix="driftlight-demo-", dir=base)


def spill(obj: Any, directory: str, name: str) -> Spilled:
    """In the worker: pickle `obj`, its out-of-band buffers into `directory/name`."""
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    path = os.path.join(directory, name)
    sizes = []
    with open(path, "wb") as f:
        for buffer in buffers:
            raw = buffer.raw()
            f.write(raw)
            f.write(b"\0" * (-raw.nbytes % _ALIGN))
            sizes.append(raw.nbytes)
    return Spilled(data, path, tuple(sizes))


def unspill(spilled: Spilled) -> Any:
    """In the main process: the object back, its buffers on a private mapping of the file (pages
    are read on first use; writing to an array copies just that page), the file removed."""
    try:
        if not any(spilled.sizes):
            return pickle.loads(spilled.data, buffers=[memoryview(b"")] * len(spilled.sizes))
        with open(spilled.path, "rb") as f:
            view = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY))
        buffers, at = [], 0
        for n in spilled.sizes:
            buffers.append(view[at : at + n])
            at += n + (-n % _ALIGN)
        return pickle.loads(spilled.data, buffers=buffers)
    finally:
        os.unlink(spilled.path)  # the mapping stays valid until its arrays are gone
