"""Access and network suite: copy this folder into your repository and point it at your manifests.

    pytest example_suites/access_and_network --k8s-manifests PATH

Try it on the demo shop (the hardened one passes; the insecure one fails, showing why)::

    pytest example_suites/access_and_network --k8s-manifests example_suites/manifests/hardened
    pytest example_suites/access_and_network --k8s-manifests example_suites/manifests/insecure

The ``k8s_rbac``, ``k8s_network`` and workload fixtures come from the pytest-k8ssec plugin. The
flows below are the demo shop's; write your own application's in test_access_and_network.py.
"""
