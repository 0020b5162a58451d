"""The gate: which findings fail a test and which are advisory, waived or in the baseline (pure)."""
