"""The reachability page: structure, port classes, cell counts that agree with the model, escaping."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pytest_k8ssec.model.netpol import INTERNET, ContainerPort, NetworkModel, Pod
from pytest_k8ssec.reporting.network_page import drawn_port_classes, network_report_html, write_network_report
from tests.builders import network_policy

WEB = Pod("shop", "web", {"app": "web"}, ports=(ContainerPort(8080, "TCP", "http"),), kind="Deployment")
DB = Pod("db", "pg", {"app": "pg"}, ports=(ContainerPort(5432, "TCP", "pg"),), kind="Deployment")
DNS = Pod("kube-system", "dns", {"k8s-app": "kube-dns"}, ports=(ContainerPort(53, "UDP", "dns"),), kind="Deployment")
POLICIES = (
    network_policy("deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, "db"),
    network_policy(
        "allow-web",
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "web"}}}],
                    "ports": [{"port": "pg"}],
                }
            ],
        },
        "db",
    ),
    network_policy("range", {"podSelector": {}, "ingress": [{"ports": [{"port": 30000, "endPort": 30010}]}]}, "shop"),
)


class Tables(HTMLParser):
    """Collects each matrix: header texts, row header texts, and cell classes and titles."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, list[Any]]] = []
        self._in: str | None = None
        self._matrix = False
        self._cell: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "table" and a.get("class") == "matrix":
            self.tables.append({"cols": [], "rows": [], "cells": []})
            self._matrix = True
        elif self._matrix and tag == "th" and a.get("scope") in ("col", "row"):
            self._in = a["scope"]
            self._cell = {"text": ""}
        elif self._matrix and tag == "td":
            self.tables[-1]["cells"].append((a.get("class"), a.get("title")))

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self._cell["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "th" and self._in is not None:
            self.tables[-1]["cols" if self._in == "col" else "rows"].append(self._cell["text"])
            self._in = None
        elif tag == "table":
            self._matrix = False


def parse(page: str) -> list[dict[str, list[Any]]]:
    parser = Tables()
    parser.feed(page)
    return parser.tables


def test_port_classes_cover_rule_and_container_ports_and_any_other() -> None:
    net = NetworkModel((WEB, DB, DNS), POLICIES)
    labels = [label for _, _, label in drawn_port_classes(net)]
    assert labels == [
        "TCP 5432 (pg)", "TCP 8080 (http)", "TCP 30000 (rule range 30000-30010)", "UDP 53 (dns)",
        "TCP any other port (e.g. 1)", "UDP any other port (e.g. 1)",
    ]  # fmt: skip


def test_matrix_structure_and_counts_agree_with_the_model() -> None:
    net = NetworkModel((WEB, DB, DNS), POLICIES)
    page = network_report_html(net, target="manifests")
    tables = parse(page)
    classes = drawn_port_classes(net)
    # One matrix per group of port classes with identical cells; every class is in exactly one.
    groups = [
        [(proto, int(port)) for proto, port in (item.split("/") for item in ports.split())]
        for ports in re.findall(r'<section class="port" id="ports-\d+" data-ports="([^"]*)">', page)
    ]
    assert len(tables) == len(groups) == 3 < len(classes)
    assert sorted(member for group in groups for member in group) == sorted((proto, port) for proto, port, _ in classes)
    endpoints = [WEB, DB, DNS, INTERNET]
    refs = ["Deployment/shop/web", "Deployment/db/pg", "Deployment/kube-system/dns", "internet"]
    for table, group in zip(tables, groups):
        assert table["cols"][1:] == refs and table["rows"] == refs
        assert len(table["cells"]) == 16
        for protocol, port in group:
            expected = [
                "na"
                if not (isinstance(s, Pod) or isinstance(d, Pod))
                else "allow"
                if net.reachable(s, d, port, protocol).allowed
                else "deny"
                for s in endpoints
                for d in endpoints
            ]
            assert [kind for kind, _ in table["cells"]] == expected, (protocol, port)
    pg = tables[0]
    assert groups[0] == [("TCP", 5432)]
    # web -> pg on 5432: allowed by the rule; the tooltip names it.
    kind, title = pg["cells"][1]
    assert (
        kind == "allow"
        and "allowed by db/allow-web ingress[0]" in title
        and "isolated by db/deny, db/allow-web" in title
    )
    kind, title = pg["cells"][3 * 4 + 1]  # internet -> pg
    assert kind == "deny" and "no rule allows it" in title
    assert re.search(r'<span class="n-allow">\d+</span>', page)
    assert "<script" not in page and "http://" not in page and "https://" not in page and "<link" not in page


def test_the_overview_names_the_ports_each_pair_is_allowed_on() -> None:
    net = NetworkModel((WEB, DB, DNS), POLICIES)
    overview = network_report_html(net).split('<table class="overview">')[1].split("</table>")[0]
    cells = re.findall(r'<td class="(\w+)"[^>]*>([^<]*)</td>', overview)
    assert len(cells) == 16
    # web -> pg: only on 5432 (the allow-web rule); pg -> anything: denied (its egress is isolated).
    assert cells[1] == ("partial", "&#10003; TCP 5432")
    assert cells[4:8] == [("deny", "&#10007;")] * 4
    # web -> web: shop's range policy admits only 30000-30010; dns is not isolated at all.
    assert cells[0] == ("partial", "&#10003; TCP 30000")
    assert cells[10] == ("allow", "&#10003; all") and cells[15] == ("na", "&#8211;")


def test_column_headers_are_clipped_inside_their_cell_with_the_full_name_as_tooltip() -> None:
    page = network_report_html(NetworkModel((WEB,), []))
    assert '<th class="col" scope="col" title="Deployment/shop/web"><span>Deployment/shop/web</span></th>' in page
    assert "thead th.col span{display:inline-block;writing-mode:vertical-rl;transform:rotate(180deg);" in page
    assert "max-height:16em;overflow:hidden" in page and "max-height:18em}" not in page


def test_uncertain_cells_are_marked() -> None:
    net = NetworkModel(
        (WEB, DB),
        [
            network_policy(
                "cidr", {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]}, "db"
            )
        ],
    )
    table = parse(network_report_html(net))[0]
    assert table["cells"][1][0] == "uncertain" and "uncertain" in table["cells"][1][1]


def test_everything_is_escaped(tmp_path: Path) -> None:
    net = NetworkModel((Pod("ns", "a<b>&\"c'", {}, kind="Deployment"),), [])
    page = network_report_html(net, title='<b>t</b> & "q"', target="<ctx>")
    assert "<b>t</b>" not in page and "&lt;b&gt;t&lt;/b&gt; &amp; &quot;q&quot;" in page
    assert "a<b>" not in page and "Deployment/ns/a&lt;b&gt;&amp;&quot;c&#x27;" in page and "&lt;ctx&gt;" in page
    path = write_network_report(net, tmp_path / "out" / "net.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_policy_table() -> None:
    net = NetworkModel((WEB, DB, DNS), POLICIES)
    page = network_report_html(net, title="T")
    policies = page.split("<h2>NetworkPolicies</h2>")[1]
    assert "<td>db/allow-web</td>" in policies and "from pods app=web in all namespaces on TCP pg" in policies
    assert page.count('<section class="port"') == 3  # 6 port classes, 3 distinct matrices


def test_the_model_method_still_works_for_one_release_and_names_its_replacement() -> None:
    net = NetworkModel((WEB, DB, DNS), POLICIES)
    with pytest.warns(
        DeprecationWarning,
        match=r"NetworkModel\.html_report\(\) is deprecated .* use pytest_k8ssec\.network_report_html\(model\)",
    ):
        page = net.html_report(title="T")  # type: ignore[attr-defined]
    assert page == network_report_html(net, title="T")


def test_write_network_report_takes_title_and_target_by_keyword_and_warns_by_position(tmp_path: Path) -> None:
    net = NetworkModel((WEB, DB, DNS), POLICIES)
    written = write_network_report(net, tmp_path / "a.html", title="T", target="ctx")
    with pytest.warns(DeprecationWarning, match=r"passing title, target to write_network_report\(\) by position"):
        old = write_network_report(net, tmp_path / "b.html", "T", "ctx")
    assert written.read_text() == old.read_text() == network_report_html(net, title="T", target="ctx")
