"""Assertion helpers, one module per domain; the public names are re-exported by ``pytest_k8ssec``."""
