"""Ready compliance suites: run one without writing a test, or copy it as the start of your own.

    pytest --pyargs pytest_k8ssec.suites.pss --k8s-manifests=deploy/
    pytest --pyargs pytest_k8ssec.suites.cis --k8s-context=prod

``pss`` (Pod Security Standards per namespace), ``cis`` (CIS Kubernetes Benchmark v1.12
section 5), ``nsa`` (NSA/CISA Kubernetes Hardening Guidance), ``images``, ``rbac`` and
``network``; ``cis_nodes`` (CIS sections 1-4) judges the machines of ``--k8s-hosts`` instead of
objects. Every test carries ``@pytest.mark.k8s_control`` with the controls it implements, so
``--k8s-controls`` selects by them and reports count per control. What differs between teams
comes from ``--k8s-profile FILE`` (or its ini keys), never from editing a suite. To copy one,
take the module and ``_common.py`` into your tests folder as ``test_<name>.py`` and
``_common.py`` and change the import of ``_common``.
"""
