"""Our Pod Security evaluator agrees with Pod Security admission's own fixtures.

The fixtures are ``test/testdata`` of the Go module ``k8s.io/pod-security-admission`` at the version
the control plane pins (``tests/oracles/go-modules.txt``, ``controlplane/go.mod``); the root
conftest derives one row per file from the tree. Every fixture
(``<level>/<version>/{pass,fail}/<check><n>.yaml``) is evaluated at its
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

from pytest_k8ssec.checks.pss import evaluate_pod_security, max_version, parse_version
from pytest_k8ssec.checks.pss._registry import table
from pytest_k8ssec.sources.manifests import load_file

# Rows compared at v0.37.2 (4,537 fixtures, the same files as commit 8f84a87); a floor, so a broken
# tree walk cannot pass.
FLOOR = 4500


def _expected_controls(level: str, version: str, named: str) -> set[str]:
    """The controls (lower case, as fixtures name them) a fail fixture for ``named`` may fail on."""
    plan = table().plan(level, parse_version(version))
    running = {control.id.lower() for control, _ in plan}
    if named in running:
        return {named}
    return {
        control.id.lower() for control, entry in plan if any(override.lower() == named for override in entry.overrides)
    }


def test_every_fixture_agrees(psa_testdata: Path, psa_fixtures: list[dict[str, str]]) -> None:
    rows = psa_fixtures
    compared: Counter[str] = Counter()
    disagreements: list[str] = []
    for row in rows:
        level, version, expected = row["level"], row["version"], row["expected"]
        objects = load_file(psa_testdata / row["path"])
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
            disagreements.append(
                f"{row['path']}: expected a failure of {sorted(wanted)}, got {result.message or 'allowed'}"
            )
    total = sum(compared.values())
    versions = sorted({(row["level"], row["version"]) for row in rows})
    print(
        f"\nPSA oracle: {total} fixtures compared over {len(versions)} level/version pairs "
        f"({', '.join(f'{k} {n}' for k, n in sorted(compared.items()))}); {len(disagreements)} disagreements"
    )
    assert disagreements == []
    assert total >= FLOOR


def test_the_oracle_covers_every_version_up_to_ours(psa_fixtures: list[dict[str, str]]) -> None:
    # The newest fixture version is upstream's latest: it must be ours too, or "latest" differs.
    versions = {parse_version(row["version"]) for row in psa_fixtures}
    assert max(versions, key=lambda v: v.minor) == max_version()


def test_the_rows_derived_from_the_tree_cover_the_shared_index(
    psa_fixtures: list[dict[str, str]], oracles: Path
) -> None:
    # ../shared/oracles/psa/index.csv (commit 8f84a87) was the index these tests were written
    # against; deriving rows from the module's tree must give every one of its rows, field for field
    # (the module may hold newer fixtures on top; they are judged by the tests above).
    with (oracles / "psa" / "index.csv").open(newline="") as handle:
        indexed = list(csv.DictReader(handle))
    derived = {row["path"]: row for row in psa_fixtures}
    assert len(indexed) >= FLOOR
    assert [row for row in indexed if derived.get(row["path"]) != row] == []
