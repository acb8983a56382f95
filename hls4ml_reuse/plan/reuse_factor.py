"""hls4ml's ReuseFactor with ReusePruning on: the folded unit's lanes chosen so that a user's folding keeps its rate.

A stock hls4ml layer with ReuseFactor R shares each multiplier among R multiplications, so it accepts an input
vector (a window, for a convolution) every R clocks. Our folded unit takes at most `vector_clocks_bound` clocks
per vector, whatever the data; its lanes (ReusePruningTile) set that bound. Where the tile is not set, the fewest
lanes that keep the bound within R are chosen, or where none can, the most (the nearest rate); where the tile
set cannot, it is kept. Either way the caller warns, naming the layer, R and the clocks the unit takes. The
unrolled shape takes a vector every clock and meets every R.

ReuseFactor 1 is hls4ml's default (config_from_keras_model writes it into every configuration), so it is read as
no request: the folded shape keeps its default lanes, and ReusePruningShape: unrolled is how a vector a clock is
asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..ir.constants import TILES
from .folding import vector_cycles


def vector_clocks_bound(unit) -> int:
    """The most clocks a folded unit spends on one input vector (window): every step walks all its planned rows
    (no early exit, nothing skipped). Early exit, zero skipping, pool exit and window reuse only shorten it;
    unrolled: 1."""
    if unit.unrolled:
        return 1
    return vector_cycles(int(unit.planned_rows().sum()), unit.n_kernels)


def with_tile(unit, tile: int):
    return replace(unit, folding=replace(unit.folding, tile=tile))


@dataclass(frozen=True)
class ReuseFactorFit:
    unit: object  # the UnitSpec, with the lanes chosen
    reuse_factor: int
    clocks: int  # vector_clocks_bound of that unit

    @property
    def met(self) -> bool:
        """The rate asked is kept (ReuseFactor 1, hls4ml's default, asks nothing)."""
        return self.reuse_factor <= 1 or self.clocks <= self.reuse_factor


def fit_reuse_factor(unit, reuse_factor: int, tile_set: bool) -> ReuseFactorFit:
    """The unit with the fewest lanes that takes at most `reuse_factor` clocks per vector; its own lanes where
    `tile_set`, the most where no tile is fast enough (check .met)."""
    if reuse_factor <= 1 or unit.unrolled or tile_set:
        return ReuseFactorFit(unit, reuse_factor, vector_clocks_bound(unit))
    for tile in TILES:  # fewest lanes first: the last is the fastest
        candidate = with_tile(unit, tile)
        clocks = vector_clocks_bound(candidate)
        if clocks <= reuse_factor:
            break
    return ReuseFactorFit(candidate, reuse_factor, clocks)
