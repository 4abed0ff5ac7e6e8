"""Shared fixtures: paths to the real data in ../shared/data, skipped cleanly when absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LVWALL_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(autouse=True, scope="session")
def _one_thread_per_worker() -> None:
    """pytest-xdist runs one worker per core; more threads each would only contend."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def one_thread():
    """One PyTorch thread for a module's tests, whatever a command they ran set: tiny models
    run fastest on one thread, above all on a loaded machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _shared(sub: str) -> Path:
    path = SHARED_DATA / sub
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (see README, 'Data')")
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny random U-Net: ``weights`` (an lvwall model file) and its ``onnx`` export."""
    from echo_inputs import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="session")
def camus_dev_dir() -> Path:
    """``../shared/data/camus-a4c-dev``: 101 real CAMUS A4C frames with LV-wall masks."""
    return _shared("camus-a4c-dev")


@pytest.fixture(scope="session")
def camus_2view_dir() -> Path:
    """``../shared/data/camus-2view-dev``: 309 CAMUS patients, A4C and A2C, ED and ES."""
    return _shared("camus-2view-dev")


@pytest.fixture(scope="session")
def hmcqu_sample_dir() -> Path:
    """``../shared/data/hmcqu-sample``: the real A4C.xlsx and one real recording as GIF."""
    return _shared("hmcqu-sample")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device; none is available here")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
