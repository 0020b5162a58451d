"""Workload hardening suite: copy this folder into your repository and point it at your manifests.

The objects under test come from the command line, not from this file::

    pytest example_suites/workload_hardening --k8s-manifests PATH

``PATH`` is a manifest file, a directory of them, a glob, a Helm chart or a kustomize directory
(repeat ``--k8s-manifests`` for several). To fix the path for every run, set ``k8s_manifests`` in
your pytest ini file instead. Try it on the demo shop::

    pytest example_suites/workload_hardening --k8s-manifests example_suites/manifests/insecure
    pytest example_suites/workload_hardening --k8s-manifests example_suites/manifests/hardened

The ``k8s_workload`` and ``k8s_workloads`` fixtures come from the pytest-k8ssec plugin, so this
conftest defines none. To test only part of your objects, mark a test (or a module, with
``pytestmark``) with ``@pytest.mark.k8s_select(namespace="shop")``.
"""
