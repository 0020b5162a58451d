"""Supply-chain suite: copy this folder into your repository and point it at your manifests.

    pytest example_suites/supply_chain --k8s-manifests PATH

Try it on the demo shop (the hardened one passes; the insecure one fails, showing why)::

    pytest example_suites/supply_chain --k8s-manifests example_suites/manifests/hardened
    pytest example_suites/supply_chain --k8s-manifests example_suites/manifests/insecure

The fixtures come from the pytest-k8ssec plugin, so this conftest defines none. Edit
``ALLOWED_REGISTRIES`` in test_supply_chain.py to name your registries.
"""
