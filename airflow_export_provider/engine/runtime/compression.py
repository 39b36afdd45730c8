"""The gzip stream of a text file: ISA-L (igzip) on its own thread for levels 1-3, zlib above.

For text formats the compressor decides the export's speed. ISA-L writes standard gzip
several times faster than zlib, for somewhat larger files (docs/performance.md), and
``isal.igzip_threaded`` compresses on a thread of its own
with the GIL released, so encoding the next records and compressing the previous ones
happen at the same time. Levels 4-9 trade that speed for smaller files and use Python's
zlib (``gzip.GzipFile``), as does every level when isal is not installed.

Both write a gzip header with ``mtime=0`` and no file name, and produce the same bytes for
the same input, so re-running a window gives the same objects and checksums.
"""

from __future__ import annotations

import gzip
from typing import BinaryIO, Protocol

FAST_LEVELS = range(1, 4)
# Each open file holds about three blocks (buffer, queue, previous block for the
# dictionary); 256 KiB keeps 50 open files near 40 MB while blocks stay large enough
# for the compression ratio (the 32 KiB window carries across blocks).
BLOCK_BYTES = 256 * 1024


class GzipStream(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def close(self) -> None: ...


def gzip_stream(sink: BinaryIO, level: int) -> GzipStream:
    """A writable gzip stream into ``sink``; closing it finishes the gzip member, not ``sink``."""
    if level in FAST_LEVELS:
        try:
            from isal import igzip_threaded
        except ImportError:  # isal is a dependency; a platform without wheels falls back to zlib
            pass
        else:
            stream: GzipStream = igzip_threaded.open(  # type: ignore[no-untyped-call]
                sink, "wb", compresslevel=level, threads=1, block_size=BLOCK_BYTES
            )
            return stream
    return gzip.GzipFile(filename="", mode="wb", fileobj=sink, compresslevel=level, mtime=0)


def compressor_name(level: int) -> str:
    """For logs and the benchmark: which implementation a level uses on this machine."""
    if level in FAST_LEVELS:
        try:
            import isal  # noqa: F401
        except ImportError:
            return f"zlib level {level} (isal not installed)"
        return f"ISA-L igzip level {level}, own thread"
    return f"zlib level {level}"
