import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def out_dir(tmp_path_factory, request):
    """One output folder per test case, as hls4ml's tests do."""
    return str(tmp_path_factory.mktemp(request.node.name.replace('[', '_').replace(']', '')[:60]))
