"""Our Pod Security evaluator agrees with Pod Security admission's own fixtures (../shared/oracles/psa).

Every fixture (``<level>/<version>/{pass,fail}/<check><n>.yaml``, index.csv) is evaluated at its
level and version: a pass fixture must be allowed, a fail fixture forbidden, and forbidden *by the
control it is named after*. The restricted tree repeats the baseline fixtures; where a restricted
control overrides the named baseline one at that version (hostPathVolumes -> restrictedVolumes,
seccompProfile_baseline -> seccompProfile_restricted from v1.19, capabilities_baseline ->
capabilities_restricted from v1.22, procMount -> procMount_restricted from v1.35), the overriding
control must be the one that fails.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from pytest_k8ssec.pss import evaluate_pod_security, max_version, parse_version
from pytest_k8ssec.pss._registry import table
from pytest_k8ssec.sources.manifests import load_file

# Rows compared at oracle commit 8f84a87 (4,537 fixtures); a floor, so a broken index cannot pass.
FLOOR = 4500


def _expected_controls(level: str, version: str, named: str) -> set[str]:
    """The controls (lower case, as fixtures name them) a fail fixture for ``named`` may fail on."""
    plan = table().plan(level, parse_version(version))
    running = {control.id.lower() for control, _ in plan}
    if named in running:
        return {named}
    return {
        control.id.lower()
        for control, entry in plan
        if any(override.lower() == named for override in entry.overrides)
    }


def test_every_fixture_agrees(oracles: Path) -> None:
    root = oracles / "psa"
    with (root / "index.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    compared: Counter[str] = Counter()
    disagreements: list[str] = []
    for row in rows:
        level, version, expected = row["level"], row["version"], row["expected"]
        objects = load_file(root / "testdata" / row["path"])
        assert len(objects) == 1, row["path"]
        result = evaluate_pod_security(objects[0], level, version)
        compared[f"{level} {expected}"] += 1
        if expected == "pass":
            if not result.allowed:
                disagreements.append(f"{row['path']}: expected pass, got {result.message}")
            continue
        failing = {item.control.lower() for item in result.violations}
        wanted = _expected_controls(level, version, row["check_id_lowercase"])
        if not wanted:
            disagreements.append(f"{row['path']}: no control named {row['check_id_lowercase']} runs here")
        elif not failing & wanted:
            disagreements.append(f"{row['path']}: expected a failure of {sorted(wanted)}, got {result.message or 'allowed'}")
    total = sum(compared.values())
    versions = sorted({(row["level"], row["version"]) for row in rows})
    print(
        f"\nPSA oracle: {total} fixtures compared over {len(versions)} level/version pairs "
        f"({', '.join(f'{k} {n}' for k, n in sorted(compared.items()))}); {len(disagreements)} disagreements"
    )
    assert disagreements == []
    assert total >= FLOOR


def test_the_oracle_covers_every_version_up_to_ours(oracles: Path) -> None:
    # The newest fixture version is upstream's latest: it must be ours too, or "latest" differs.
    with (oracles / "psa" / "index.csv").open(newline="") as handle:
        versions = {parse_version(row["version"]) for row in csv.DictReader(handle)}
    assert max(versions, key=lambda v: v.minor) == max_version()
