"""Operation accounting (DESIGN.md section 3): terms and adder bits.

- terms: every input entering an accumulation counts one, and so does every word-level
  addition that applies a delta to a parent's value.
- adder bits: a sum of m inputs of b bits costs about m*(b+1) full-adder bits (2m for a
  popcount of one-bit products); a word addition costs the accumulator width.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OperationCost:
    input_bits: int  # width of one input value (1 for binary activations)
    accum_bits: int  # width of a word-level addition

    def terms(self, inputs: float, word_adds: float) -> float:
        return inputs + word_adds

    def adder_bits(self, inputs: float, word_adds: float) -> float:
        return inputs * (self.input_bits + 1) + word_adds * self.accum_bits

    def root_bits(self, k: int) -> int:
        return k * (self.input_bits + 1)

    def child_bits(self, positions: int) -> int:
        return positions * (self.input_bits + 1) + self.accum_bits
