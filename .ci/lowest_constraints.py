"""Print pip constraints pinning every dependency of pyproject.toml (and its extras) to its lower bound.

``name>=X`` becomes ``name==X``; a dependency without a lower bound stays free. A bound that is not
a released version makes pip fail, which is the point: the declared minimum must be installable.
"""

from __future__ import annotations

import re
import sys

import tomllib

with open(sys.argv[1], "rb") as handle:
    project = tomllib.load(handle)["project"]
requirements = list(project.get("dependencies", []))
for extra in project.get("optional-dependencies", {}).values():
    requirements += extra
for requirement in requirements:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*[^;]*?>=\s*([^,;\s]+)", requirement)
    if match:
        print(f"{match.group(1)}=={match.group(2)}")
