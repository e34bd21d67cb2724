import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true", help="run the whole matrix (slow)")


def pytest_configure(config):
    config.addinivalue_line("markers", "full: only with --full (the slow part of the matrix)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--full"):
        return
    skip = pytest.mark.skip(reason="part of the --full matrix")
    for item in items:
        if "full" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def emulator():
    """One moto server per test process (xdist worker), stopped by PID."""
    emu = harness.Emulator("moto").start()
    yield emu
    emu.stop()


@pytest.fixture
def fresh_emulator(emulator):
    emulator.reset()
    yield emulator
    # A test that ran against another worker's emulator would have had its
    # state reset under it: say so, rather than leave a puzzling failure.
    emulator.check_own()


@pytest.fixture
def workdir(tmp_path):
    return tmp_path
