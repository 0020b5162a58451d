"""What the API server would reject: :class:`NetworkPolicyError`, and the field-level error that
parsing raises until the policy's name is known."""

from __future__ import annotations

from pytest_k8ssec.errors import K8sSecError


class NetworkPolicyError(K8sSecError, ValueError):
    """A NetworkPolicy the API server would reject, or an endpoint or port that does not exist."""


class InvalidField(K8sSecError):
    """Raised while compiling; re-raised as NetworkPolicyError with the policy's name."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
