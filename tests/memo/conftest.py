"""Where the official MeMo reference material lives, for conformance tests.

The official XSDs and samples are reference data kept beside the repository in
``../shared/memo`` (or wherever ``MEMO_REFERENCE_DIR`` points). They are never committed
here. Tests that need them skip, with the reason shown, where they are absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def reference_dir() -> Path:
    configured = os.environ.get("MEMO_REFERENCE_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "memo"


@pytest.fixture(scope="session")
def memo_reference() -> Path:
    path = reference_dir()
    if not (path / "xsd" / "MeMo_core.xsd").is_file():
        pytest.skip(f"official MeMo reference material not found at {path} (set MEMO_REFERENCE_DIR)")
    return path


def sample_paths() -> list[Path]:
    """Every official sample, or an empty list where the reference is absent."""
    samples = reference_dir() / "samples"
    return sorted(samples.glob("*/*.xml")) if samples.is_dir() else []
