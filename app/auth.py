"""API keys: `X-API-Key` header, roles viewer / mes / planner, keys kept hashed in memory.

With no keys configured the service is in local mode: it listens on 127.0.0.1 only and
every caller is a planner.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    MES = "mes"
    PLANNER = "planner"


class Action(StrEnum):
    READ = "read"            # GET anything
    ORDERS = "orders"        # write orders (batches, uploads, cancel)
    EVENTS = "events"        # floor events
    PLAN = "plan"            # factory, solves, publishing, reschedules


ALLOWED: dict[Role, frozenset[Action]] = {
    Role.VIEWER: frozenset({Action.READ}),
    Role.MES: frozenset({Action.READ, Action.ORDERS, Action.EVENTS}),
    Role.PLANNER: frozenset(Action),
}


class KeyConfigError(ValueError):
    """`RACKPLAN_API_KEYS` does not parse."""


@dataclass(frozen=True)
class Principal:
    role: Role
    key_id: str  # a short, non-secret fingerprint for logs ("local" in local mode)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class KeyStore:
    """The configured keys as SHA-256 digests; lookups compare every digest in constant time."""

    def __init__(self, spec: str) -> None:
        self._keys: list[tuple[bytes, Role]] = []
        for n, part in enumerate((p.strip() for p in spec.split(",")), start=1):
            if not part:
                continue
            key, sep, role = part.rpartition(":")
            if not sep or not key.strip():
                raise KeyConfigError(f"RACKPLAN_API_KEYS entry {n}: expected key:role")
            try:
                r = Role(role.strip())
            except ValueError:
                raise KeyConfigError(
                    f"RACKPLAN_API_KEYS entry {n}: unknown role {role.strip()!r} "
                    f"(one of {', '.join(Role)})"
                ) from None
            if len(key.strip()) < 16:
                raise KeyConfigError(f"RACKPLAN_API_KEYS entry {n}: a key needs 16+ characters")
            self._keys.append((_digest(key.strip()), r))

    @property
    def local_mode(self) -> bool:
        """No keys configured."""
        return not self._keys

    def lookup(self, key: str | None) -> Principal | None:
        """The principal for `key`, or None; every configured key is compared."""
        if self.local_mode:
            return Principal(Role.PLANNER, "local")
        if not key:
            return None
        d = _digest(key)
        found: Role | None = None
        for digest, role in self._keys:
            if hmac.compare_digest(digest, d):
                found = role
        return Principal(found, d.hex()[:8]) if found is not None else None
