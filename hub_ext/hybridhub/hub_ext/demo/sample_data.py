"""A small, deterministic sample dataset: sensor CSVs, labels, tiny PNG images, metadata."""

from __future__ import annotations

import json
import math
import random
import struct
import zlib


def sensor_csv(rows: int, seed: int) -> bytes:
    """Readings of a made-up machine: temperature, vibration, current, and whether it failed."""
    rng = random.Random(seed)
    lines = ["timestamp,temperature_c,vibration_mm_s,current_a,failure"]
    for i in range(rows):
        temperature = 40 + 8 * math.sin(i / 24) + rng.gauss(0, 1.5)
        vibration = abs(rng.gauss(2.0, 0.6)) + (0.04 * max(0.0, temperature - 45))
        current = 12 + rng.gauss(0, 0.8)
        failure = int(vibration > 3.2 and temperature > 46)
        minute = i % 60
        hour = (i // 60) % 24
        day = 1 + i // 1440
        lines.append(
            f"2026-10-{day:02d}T{hour:02d}:{minute:02d}:00Z,{temperature:.2f},{vibration:.3f},{current:.2f},{failure}"
        )
    return ("\n".join(lines) + "\n").encode()


def _png(width: int, height: int, pixel) -> bytes:
    """Encode an 8-bit grayscale PNG; ``pixel(x, y)`` returns 0..255."""
    raw = b"".join(b"\x00" + bytes(pixel(x, y) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def pattern_png(kind: int, size: int = 64) -> bytes:
    centre = size / 2
    patterns = [
        lambda x, y: 255 if abs(math.hypot(x - centre, y - centre) - size / 3) < 3 else 20,  # ring
        lambda x, y: 255 if abs(x - y) < 3 or abs(x + y - size) < 3 else 20,  # cross
        lambda x, y: int(255 * x / (size - 1)),  # gradient
        lambda x, y: 255 if (x // 8 + y // 8) % 2 else 20,  # checkerboard
    ]
    return _png(size, size, patterns[kind % len(patterns)])


def sample_objects() -> dict[str, tuple[bytes, str]]:
    """Object key -> (content, content type)."""
    objects: dict[str, tuple[bytes, str]] = {
        "README.txt": (
            b"Sample data for the hybridhub demo.\n"
            b"sensors/: machine readings (CSV) for a failure classifier.\n"
            b"images/: tiny grayscale images.\n",
            "text/plain",
        ),
        "sensors/train.csv": (sensor_csv(2000, seed=1), "text/csv"),
        "sensors/test.csv": (sensor_csv(500, seed=2), "text/csv"),
        "sensors/schema.json": (
            json.dumps(
                {
                    "target": "failure",
                    "features": ["temperature_c", "vibration_mm_s", "current_a"],
                    "units": {"temperature_c": "°C", "vibration_mm_s": "mm/s", "current_a": "A"},
                },
                ensure_ascii=False,
                indent=2,
            ).encode(),
            "application/json",
        ),
    }
    for i, name in enumerate(["ring", "cross", "gradient", "checker"]):
        objects[f"images/{name}.png"] = (pattern_png(i), "image/png")
    return objects
