"""Drive an RTL stream component (rtl/ port convention) in Amaranth's own simulator: the quick mode for small units.

The bench offers input beats as fast as tready allows and takes output beats; with a seed, tvalid gaps and tready
drops are pseudo-random, so that handshake bugs show as wrong or missing outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.sim import Simulator


@dataclass
class StreamTrace:
    outputs: list[int]  # tdata of each output beat
    produced_at: list[int]  # the clock at which each was taken
    accepted_at: list[int]  # the clock at which each input beat was taken, counted the same way


def simulate(component, beats: list[int], n_outputs: int, stall_seed: int | None = None, max_cycles: int = 200_000):
    rng = None if stall_seed is None else np.random.default_rng(stall_seed)
    trace = StreamTrace([], [], [])

    async def bench(ctx):
        sent = cycle = 0
        while len(trace.outputs) < n_outputs:
            offer = sent < len(beats) and (rng is None or rng.random() < 0.7)
            take = rng is None or rng.random() < 0.6
            ctx.set(component.s_axis_tvalid, offer)
            ctx.set(component.s_axis_tdata, beats[sent] if offer else 0)
            ctx.set(component.s_axis_tlast, offer)
            ctx.set(component.m_axis_tready, take)
            sampled = await ctx.tick().sample(component.s_axis_tready, component.m_axis_tvalid, component.m_axis_tdata)
            _, _, ready, out_valid, out_data = sampled
            cycle += 1
            if offer and ready:
                sent += 1
                trace.accepted_at.append(cycle)
            if out_valid and take:
                trace.outputs.append(out_data)
                trace.produced_at.append(cycle)
            assert cycle < max_cycles, f'{len(trace.outputs)} of {n_outputs} outputs after {cycle} clocks'

    simulator = Simulator(component)
    simulator.add_clock(1e-8)
    simulator.add_testbench(bench)
    simulator.run()
    return trace
