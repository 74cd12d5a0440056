"""Shared fixtures: the project's binaries, built once per test session."""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(
    os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/assessment-lake/target"))
)


@pytest.fixture(scope="session")
def bins():
    """Builds the example programs (release) and returns a name -> path function."""
    env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET))
    subprocess.run(
        ["cargo", "build", "--release", "-p", "examples", "--bins"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return lambda name: str(TARGET / "release" / name)
