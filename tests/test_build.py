"""hls4ml-reuse build: the project's files are right and its own test bench reproduces QKeras, without the HLS tool."""

from pathlib import Path

from models import binary_mlp, pixels

from hls4ml_reuse.cli import build
from hls4ml_reuse.cli.targets import Target


def small_target():
    model = binary_mlp([12, 6], 24, seed=21)
    x = pixels(40, 24, seed=22)
    return Target('small', model, x, x[:, 0].astype(int), 'ufixed<8,0>', 8)


def test_project_passes_checks_and_its_testbench_matches_qkeras(tmp_path):
    result = build.build(small_target(), str(tmp_path), images=40, run_tool=False)
    assert result.problems == []
    assert result.part == 'xc7z100ffg900-2'
    assert (Path(result.project_dir) / 'tb_data' / 'csim_results.log').exists()


def test_checks_catch_a_wrong_part_and_missing_testbench_rows(tmp_path):
    result = build.build(small_target(), str(tmp_path), images=40, run_tool=False)
    project = Path(result.project_dir)
    tcl = project / 'project.tcl'
    tcl.write_text(tcl.read_text().replace('xc7z100ffg900-2', 'xcvu13p-flga2577-2-e'))
    data = project / 'tb_data' / 'tb_input_features.dat'
    data.write_text('\n'.join(data.read_text().splitlines()[:-1]) + '\n')
    problems = build.check_project(project, result.part, result.clock_period_ns, 40, 24)
    assert any('part xc7z100ffg900-2' in problem for problem in problems)
    assert any('tb_input_features.dat' in problem for problem in problems)


def test_yaml_configuration_is_a_build_target(tmp_path):
    from hls4ml_reuse.cli.targets import resolve

    model = binary_mlp([12, 6], 784, seed=23)
    model.save(tmp_path / 'model.h5')
    config = tmp_path / 'config.yml'
    config.write_text(
        f'KerasModel: !qkeras_model {tmp_path / "model.h5"}\nPart: xc7z100ffg900-2\nClockPeriod: 4\nIOType: io_stream\n'
        'HLSConfig:\n  Model:\n    Precision: fixed<16,6>\n    ReuseFactor: 1\n    ReusePruning: true\n'
        '  LayerName:\n    pixels:\n      Precision:\n        result: ufixed<8,0>\n'
    )
    target = resolve(str(config))
    assert target.clock_period_ns == 4.0
    result = build.build(target, str(tmp_path / 'out'), images=20, run_tool=False)
    assert result.problems == []
