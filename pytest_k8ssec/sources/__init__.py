"""Where objects come from: manifests on disk (and, later, clusters)."""
