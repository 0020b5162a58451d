"""Repo-level pytest configuration for the project's own test runs.

The plugin is installed (``pip install .``) and loads through its ``pytest11`` entry point, as
it does for users; nothing here imports it by hand.
"""

from __future__ import annotations

from pathlib import Path

# The parse cache loads its cipher lazily (it costs ~80 ms, paid only by runs that cache). Inside an
# in-process pytester run that first import would be undone when pytester restores sys.modules,
# and cryptography's native bindings cannot be imported a second time ("cipher ChaCha20 in None
# mode is not supported"), so the project's own test runs import it once, up front.
import cryptography.hazmat.primitives.ciphers  # noqa: F401
import pytest

ROOT = Path(__file__).parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def oracles() -> Path:
    """``../shared/oracles``: outside test data with known answers (read in place, never copied)."""
    path = SHARED / "oracles"
    if not path.is_dir():
        pytest.fail(f"{path} is missing: the oracle tests need ../shared/oracles beside the checkout", pytrace=False)
    return path
