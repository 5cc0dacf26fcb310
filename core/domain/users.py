"""Users, their roles and the store scope every door applies (SPEC §4)."""

from __future__ import annotations

import attrs

SYSTEM_USER = "system"


@attrs.frozen
class User:
    """A signed-in person (or the built-in `system` user of the CLI, which may do everything).

    `channels` is None for "every sales channel"; otherwise the union of the roles' channels.
    `id` is the stored user's id (never reused); None for the built-in `system` user.
    `email` is what outbound messages name as the user who acted (seed 002); None if unset.
    """

    name: str
    roles: tuple[str, ...]
    permissions: frozenset[str]
    channels: frozenset[str] | None
    timezone: str = "UTC"
    is_system: bool = False
    id: int | None = None
    email: str | None = None

    @property
    def message_name(self) -> str:
        """Who acted, as outbound messages say it: the e-mail address, else the user name."""
        return self.email or self.name

    def can(self, permission: str) -> bool:
        return self.is_system or permission in self.permissions

    def sees(self, channel: str) -> bool:
        """Orders outside the user's stores answer "not found" (SPEC §4), so doors ask this."""
        return self.channels is None or channel in self.channels


def system_user() -> User:
    return User(SYSTEM_USER, ("system",), frozenset(), None, is_system=True)
