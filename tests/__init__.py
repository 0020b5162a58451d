"""The project's own tests. A package so that shared helpers import as ``tests.builders`` from the
repository root, where no installed distribution's ``tests`` can shadow them."""
