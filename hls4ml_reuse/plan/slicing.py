"""A slice of a planned unit: its first N kernels, planned on their own, computing raw sums.

What ``hls4ml-reuse synth`` synthesizes and the calibration fits: a slice small enough for Yosys, whose parents all
lie inside it.
"""

from __future__ import annotations

from .spanning_tree import plan_reuse
from .steiner import steiner_plan
from .unit import UnitSpec


def slice_unit(unit: UnitSpec, n_kernels: int | None) -> UnitSpec:
    """The first N kernels, computing raw sums (no threshold, no early exit: the unrolled datapath has neither).

    A slice is re-planned on its own, with Steiner kernels when the layer's plan has some (the conversion's
    ReusePruningSteiner was on); without N the layer keeps its own plan.
    """
    if n_kernels is None or n_kernels >= unit.n_out:
        kernels, plan, n_outputs = unit.kernels, unit.plan, unit.n_out
    else:
        outputs = unit.kernels[:n_kernels]
        with_steiner = unit.n_kernels > unit.n_out
        kernels, plan = steiner_plan(outputs, unit.cost) if with_steiner else (outputs, plan_reuse(outputs, unit.cost))
        n_outputs = n_kernels
    return UnitSpec(
        kernels=kernels,
        plan=plan,
        input_format=unit.input_format,
        folding=unit.folding,
        early_exit=False,
        cost=unit.cost,
        n_outputs=n_outputs,
        geometry=unit.geometry,  # its windows per image; no pooling (raw sums)
    )
