"""hls4ml's encoding of binary outputs (1 = +1, 0 = -1) and its decoding, as hls4ml's own tests decode it."""

import numpy as np
from hls4ml.model.types import FixedPrecisionType, IntegerPrecisionType, XnorPrecisionType

from hls4ml_reuse.passes.graph import is_bit_coded
from hls4ml_reuse.sim.encoding import decode_bits, encode_bits


def test_only_one_unsigned_bit_is_hls4mls_binary_encoding():
    assert is_bit_coded(IntegerPrecisionType(1, signed=False)) and is_bit_coded(XnorPrecisionType())
    assert not is_bit_coded(IntegerPrecisionType(2, signed=True))
    assert not is_bit_coded(IntegerPrecisionType(1, signed=True))
    assert not is_bit_coded(FixedPrecisionType(1, 1, signed=False))


def test_bits_round_trip_and_decode_as_test_btnn_does():
    values = np.array([[-1.0, 1.0, 1.0, -1.0]], dtype=np.float32)
    bits = encode_bits(values)
    assert bits.tolist() == [[0.0, 1.0, 1.0, 0.0]] and bits.dtype == values.dtype
    assert np.array_equal(decode_bits(bits), values)
    assert np.array_equal(decode_bits(bits), np.where(bits == 0, -1, 1))
