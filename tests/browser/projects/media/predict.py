# Writes a PNG, a WAV and a binary file: the playground shows the image and a player inline and
# offers the last as a download.
import math
import struct
import tempfile
import wave
import zlib
from typing import List

from cog import BasePredictor, Input, Path


def png(path, size):
    """A size x size gradient, written with zlib alone."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 255 // size, y * 255 // size, 128)) for x in range(size))
        for y in range(size))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


class Predictor(BasePredictor):
    def predict(self, size: int = Input(description="Side of the picture in pixels", default=32, ge=8, le=256)) -> List[Path]:
        out = Path(tempfile.mkdtemp())
        png(out / "gradient.png", size)
        with wave.open(str(out / "tone.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 8000 * 2 * math.pi * 440)))
                                   for i in range(4000)))
        (out / "data.bin").write_bytes(bytes(range(256)))
        return [out / "gradient.png", out / "tone.wav", out / "data.bin"]
