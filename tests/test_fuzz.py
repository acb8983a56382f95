"""Property-based end-to-end fuzz: any small binary QKeras model converts with ReusePruning and its C simulation equals
QKeras element for element -- or the conversion refuses it with a ReusePruningConfigError naming why.

`make test` runs a handful of examples; `make fuzz` many (FUZZ_EXAMPLES, default 500) from FUZZ_SEED (default 0).
Every example runs to the end, even after a failure: outcomes are collected, written to out/fuzz-summary.json after
each example (so a crash still leaves a summary) and printed; the test fails at the end if any example failed.
Nothing is shrunk: a failure is reported as the drawn Spec, which `python tests/fuzz_models.py "Spec(...)"` replays.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import traceback
from collections import Counter
from pathlib import Path

import pytest
from fuzz_models import Outcome, check, features, small_specs
from hypothesis import HealthCheck, Phase, given, seed, settings

EXAMPLES = int(os.environ.get('FUZZ_EXAMPLES', '5'))
SEED = int(os.environ.get('FUZZ_SEED', '0'))
SUMMARY = Path(__file__).resolve().parent.parent / 'out' / 'fuzz-summary.json'
ACCEPTED = ('exact', 'refused')


def message_group(message: str) -> str:
    """A refusal or failure message with layer names and numbers blanked, so the same reason counts once."""
    message = re.sub(r"'[^']*'", "'_'", message.splitlines()[0] if message else '')
    return re.sub(r'(?<![\w.])-?\d+(\.\d+)?(e-?\d+)?(?!\w)', 'N', message)


class Summary:
    """Outcomes of one session's examples, grouped by reason."""

    def __init__(self, path: Path):
        self.path, self.records, self.started = path, [], time.time()

    def add(self, spec, outcome: Outcome, seconds: float, out_dir: str) -> None:
        self.records.append({'spec': repr(spec), 'kind': outcome.kind, 'message': outcome.message,
                             'seconds': round(seconds, 2), 'out_dir': out_dir, 'features': sorted(features(spec))})  # fmt: skip
        self.write()

    def failures(self) -> list[dict]:
        return [record for record in self.records if record['kind'] not in ACCEPTED]

    def grouped(self, kinds) -> dict:
        groups = {}
        for record in self.records:
            if record['kind'] in kinds:
                group = groups.setdefault(f"{record['kind']}: {message_group(record['message'])}", {'count': 0})
                group['count'] += 1
                group.setdefault('example', {k: record[k] for k in ('message', 'spec', 'out_dir')})
        return dict(sorted(groups.items(), key=lambda item: -item[1]['count']))

    def as_dict(self) -> dict:
        kinds = Counter(record['kind'] for record in self.records)
        seconds = [record['seconds'] for record in self.records]
        return {
            'seed': SEED,
            'models': len(self.records),
            'exact': kinds['exact'],
            'refused': kinds['refused'],
            'failed': len(self.failures()),
            'seconds_per_model': round(sum(seconds) / max(1, len(seconds)), 2),
            'wall_seconds': round(time.time() - self.started, 1),
            'refusals': self.grouped(['refused']),
            'exact_coverage': dict(
                sorted(Counter(f for r in self.records if r['kind'] == 'exact' for f in r['features']).items())
            ),
            'failures': self.grouped({record['kind'] for record in self.failures()}),
            'failed_specs': [{k: record[k] for k in ('kind', 'message', 'spec')} for record in self.failures()],
        }

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.as_dict(), indent=1) + '\n')

    def text(self) -> str:
        data = self.as_dict()
        lines = [f"fuzz (seed {SEED}): {data['models']} models, {data['exact']} exact, {data['refused']} refused, "
                 f"{data['failed']} failed, {data['seconds_per_model']} s per model; summary in {self.path}"]  # fmt: skip
        for title in ('refusals', 'failures'):
            lines += [f'  {group["count"]:4d}  {reason[:200]}' for reason, group in data[title].items()]
        return '\n'.join(lines)


@pytest.fixture(scope='module')
def summary():
    """Written after every example and again at teardown, whatever happened in between."""
    collector = Summary(SUMMARY)
    yield collector
    collector.write()
    print('\n' + collector.text())


def outcome_of(spec, out_dir: str) -> Outcome:
    """check(), with any exception other than the named refusal turned into a recorded failure."""
    try:
        return check(spec, out_dir)
    except Exception as error:  # noqa: BLE001 -- every other exception is a finding, recorded with its tail
        tail = ''.join(traceback.format_exception(error)[-3:])
        return Outcome('error', f'{type(error).__name__}: {error}\n{tail}')


def test_random_binary_models_are_exact_or_refused(summary, tmp_path_factory):
    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as its drawn Spec
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(small_specs())
    def run(spec):
        out_dir = str(tmp_path_factory.mktemp('fuzz'))
        started = time.time()
        outcome = outcome_of(spec, out_dir)
        if outcome.kind in ACCEPTED:
            shutil.rmtree(out_dir, ignore_errors=True)  # keep only the projects of failures
        summary.add(spec, outcome, time.time() - started, out_dir)

    run()
    failures = summary.failures()
    assert not failures, f'{len(failures)} of {len(summary.records)} models failed:\n' + '\n'.join(
        f"{record['kind']}: {record['message'].splitlines()[0]}\n  {record['spec']}" for record in failures
    )
