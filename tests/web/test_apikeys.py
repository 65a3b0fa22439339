"""API keys are stored hashed, checked, and stop working when revoked."""

from __future__ import annotations

from firsttouch.store.models import ApiKey
from firsttouch.web.apikeys import create_api_key, revoke_api_key, verify_api_key


def test_key_is_stored_only_as_a_hash(db, clock) -> None:  # type: ignore[no-untyped-def]
    key = create_api_key(db, "zapier", clock)
    with db.sessions() as session:
        row = session.query(ApiKey).one()
    assert key.split("_", 2)[2] not in row.key_hash
    assert verify_api_key(db, key, clock) is not None
    assert verify_api_key(db, key + "x", clock) is None
    assert verify_api_key(db, "not-a-key", clock) is None


def test_revoked_key_is_refused(db, clock) -> None:  # type: ignore[no-untyped-def]
    key = create_api_key(db, "zapier", clock)
    revoke_api_key(db, key.split("_")[1], clock)
    assert verify_api_key(db, key, clock) is None
