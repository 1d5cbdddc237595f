"""Helpers for the hardening tests: images that declare a huge size in a few hundred KB, and peak-RSS runs.

Peak memory is measured with `resource` in a fresh interpreter, so what earlier tests allocated in this
one cannot hide it: the child reports its `ru_maxrss` before and after the step under test.
"""

import json
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def png_of_zeros(width: int, height: int, channels: int = 4) -> bytes:
    """A valid 8-bit PNG of zero pixels, written without holding them: one zlib block repeated.

    After a full flush the compressor starts afresh, so every later block compresses to the same bytes;
    the checksum is computed over the rows the stream stands for.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = bytes(1 + width * channels)  # filter byte 0, then the samples
    block_rows = min(64, height)
    block = row * block_rows
    blocks, rest = divmod(height, block_rows)
    compressor = zlib.compressobj(9)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.compress(row * rest) + compressor.flush()
    checksum = 1
    for _ in range(blocks):
        checksum = zlib.adler32(block, checksum)
    checksum = zlib.adler32(row * rest, checksum)
    stream = first + repeated * (blocks - 1) + tail[:-4] + struct.pack(">I", checksum)
    header = struct.pack(">IIBBBBB", width, height, 8, {1: 0, 3: 2, 4: 6}[channels], 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", stream) + chunk(b"IEND", b"")


def peak_rss_growth_mb(setup: str, step: str, timeout: float = 120) -> tuple[float, dict]:
    """Run `setup`, then `step`, in a fresh interpreter: (MB the peak RSS grew during `step`, `step`'s `out`).

    `step` may assign a JSON-able dict to `out`, which comes back as the second item.
    """
    script = "\n".join([
        "import json, resource, sys",
        f"sys.path.insert(0, {json.dumps(str(TESTS))})",
        "from tools_hardening_support import png_of_zeros",
        textwrap.dedent(setup),
        "out = {}",
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss",
        textwrap.dedent(step),
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss",
        "print(json.dumps({'grew_kb': after - before, 'out': out}))",
    ])
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout, cwd=TESTS.parent
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["grew_kb"] / 1024, report["out"]
