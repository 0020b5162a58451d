"""Pure Kubernetes knowledge: objects, workloads, containers. No pytest, no I/O."""
