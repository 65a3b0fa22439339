"""Poll a shared mailbox over IMAP, capturing each new message exactly once.

Progress is the folder's UIDVALIDITY and the highest UID captured, kept in
``imap_cursors`` and advanced in the same transaction that stores the
message, so a restart resumes where the last commit left off and a crash
between fetch and commit only means the message is fetched again (and the
inbound's Message-ID key makes that a no-op). When the server changes
UIDVALIDITY the folder is read again from the start (RFC 3501 2.3.1.1).
Messages are read with ``BODY.PEEK[]``, so polling never marks mail seen.

Settings (environment, like the other providers' secrets): ``IMAP_HOST``,
``IMAP_PORT`` (993), ``IMAP_USERNAME``, ``IMAP_PASSWORD``, ``IMAP_FOLDER``
(INBOX) and ``IMAP_SECURITY`` (``tls``, ``starttls`` or ``none``).
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from firsttouch.capture.email_parse import email_to_event
from firsttouch.capture.ingest import ingest
from firsttouch.config import Secret, Settings
from firsttouch.errors import FirsttouchError
from firsttouch.logs import get_logger
from firsttouch.store.models import ImapCursor

if TYPE_CHECKING:
    from firsttouch.runtime import Runtime

log = get_logger(__name__)

PROVIDER = "imap"
SOURCE = "email"
_UID = re.compile(rb"UID (\d+)")


class ImapError(FirsttouchError):
    """The mailbox could not be read; says which server and what it answered."""

    code = "imap_failed"
    status = 502


@dataclass(frozen=True)
class ImapMailbox:
    """One folder of one account on one server."""

    host: str
    username: str
    password: Secret
    port: int = 993
    folder: str = "INBOX"
    security: Literal["tls", "starttls", "none"] = "tls"
    timeout: float = 30.0

    @property
    def key(self) -> str:
        """The cursor's name: account, server and folder."""
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"


@dataclass(frozen=True)
class PollResult:
    """What one poll did."""

    fetched: int
    captured: int
    duplicates: int
    uid_validity: int
    last_uid: int
    restarted: bool


def mailbox_from_settings(settings: Settings) -> ImapMailbox | None:
    """The mailbox the ``IMAP_*`` variables describe, or None when unset."""
    env = settings.env
    if not env.get("IMAP_HOST"):
        return None
    security = env.get("IMAP_SECURITY", "tls")
    if security not in ("tls", "starttls", "none"):
        raise ImapError(
            f"IMAP_SECURITY must be tls, starttls or none, got {security!r}"
        )
    return ImapMailbox(
        host=env["IMAP_HOST"],
        port=int(env.get("IMAP_PORT") or (993 if security == "tls" else 143)),
        username=env.get("IMAP_USERNAME", ""),
        password=Secret(env.get("IMAP_PASSWORD", "")),
        folder=env.get("IMAP_FOLDER") or "INBOX",
        security=security,  # type: ignore[arg-type]
    )


def poll_mailbox(
    runtime: Runtime, mailbox: ImapMailbox, *, batch: int = 200
) -> PollResult:
    """Capture every message newer than the cursor (at most ``batch``)."""
    conn = _connect(mailbox)
    try:
        uid_validity = _open_folder(conn, mailbox)
        last_uid, restarted = _start_from(runtime, mailbox, uid_validity)
        uids = _new_uids(conn, last_uid)[:batch]
        captured = duplicates = 0
        for uid in uids:
            raw = _fetch(conn, uid)
            duplicate = _capture(runtime, mailbox, uid_validity, uid, raw)
            captured += not duplicate
            duplicates += duplicate
            last_uid = uid
        if restarted and not uids:
            # Remember the new UIDVALIDITY even when the folder is empty.
            with runtime.db.transaction() as session:
                _advance(session, mailbox, uid_validity, 0, runtime)
    finally:
        _logout(conn)

    if uids:
        log.info(
            "imap.polled",
            mailbox=mailbox.folder,
            host=mailbox.host,
            fetched=len(uids),
            captured=captured,
            duplicates=duplicates,
        )
    return PollResult(
        len(uids), captured, duplicates, uid_validity, last_uid, restarted
    )


def _connect(mailbox: ImapMailbox) -> imaplib.IMAP4:
    where = f"{mailbox.host}:{mailbox.port}"
    try:
        if mailbox.security == "tls":
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                mailbox.host,
                mailbox.port,
                ssl_context=ssl.create_default_context(),
                timeout=mailbox.timeout,
            )
        else:
            conn = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=mailbox.timeout)
            if mailbox.security == "starttls":
                conn.starttls(ssl.create_default_context())
        conn.login(mailbox.username, mailbox.password.reveal())
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ImapError(
            f"IMAP login to {where} as {mailbox.username} failed: "
            f"{exc}; check IMAP_HOST, IMAP_USERNAME and IMAP_PASSWORD"
        ) from exc
    return conn


def _open_folder(conn: imaplib.IMAP4, mailbox: ImapMailbox) -> int:
    """EXAMINE the folder (read-only) and return its UIDVALIDITY."""
    status, data = conn.select(_quoted(mailbox.folder), readonly=True)
    if status != "OK":
        raise ImapError(
            f"IMAP folder {mailbox.folder!r} on {mailbox.host} cannot "
            f"be opened: {data!r}; check IMAP_FOLDER"
        )
    _, values = conn.response("UIDVALIDITY")
    try:
        return int(values[0])
    except (TypeError, ValueError, IndexError):
        raise ImapError(
            f"IMAP server {mailbox.host} gave no UIDVALIDITY for "
            f"{mailbox.folder!r}; UID polling needs it"
        ) from None


def _quoted(folder: str) -> str:
    return folder if folder.isalnum() else '"' + folder.replace('"', '\\"') + '"'


def _start_from(
    runtime: Runtime, mailbox: ImapMailbox, uid_validity: int
) -> tuple[int, bool]:
    """The UID to continue after, and whether UIDVALIDITY forced a restart."""
    with runtime.db.sessions() as session:
        cursor = session.scalar(
            select(ImapCursor).where(ImapCursor.mailbox == mailbox.key)
        )
    if cursor is None:
        return 0, False
    if cursor.uid_validity != uid_validity:
        log.warning(
            "imap.uidvalidity_changed",
            host=mailbox.host,
            folder=mailbox.folder,
            old=cursor.uid_validity,
            new=uid_validity,
        )
        return 0, True
    return cursor.last_uid, False


def _new_uids(conn: imaplib.IMAP4, last_uid: int) -> list[int]:
    status, data = conn.uid("SEARCH", "UID", f"{last_uid + 1}:*")
    if status != "OK":
        raise ImapError(f"IMAP UID SEARCH failed: {data!r}")
    found = [int(n) for part in data if part for n in part.split()]
    # "n:*" always matches the newest message, even when its UID is below n
    # (RFC 3501 6.4.8), so the filter is needed.
    return sorted(uid for uid in set(found) if uid > last_uid)


def _fetch(conn: imaplib.IMAP4, uid: int) -> bytes:
    status, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
    if status != "OK":
        raise ImapError(f"IMAP UID FETCH {uid} failed: {data!r}")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return bytes(item[1])
    raise ImapError(f"IMAP UID FETCH {uid} returned no message body")


def _capture(
    runtime: Runtime, mailbox: ImapMailbox, uid_validity: int, uid: int, raw: bytes
) -> bool:
    """Store one message and move the cursor past it, in one transaction."""
    event = email_to_event(raw, provider=PROVIDER, source=SOURCE)
    event = event.model_copy(
        update={
            "fields": {**event.fields, "imap_folder": mailbox.folder, "imap_uid": uid}
        }
    )
    with runtime.db.transaction() as session:
        result = ingest(runtime, event, session=session)
        _advance(session, mailbox, uid_validity, uid, runtime)
    return result.duplicate


def _advance(
    session: Session,
    mailbox: ImapMailbox,
    uid_validity: int,
    uid: int,
    runtime: Runtime,
) -> None:
    cursor = session.scalar(
        select(ImapCursor).where(ImapCursor.mailbox == mailbox.key).with_for_update()
    )
    if cursor is None:
        cursor = ImapCursor(
            mailbox=mailbox.key,
            uid_validity=uid_validity,
            last_uid=0,
            updated_at=runtime.clock.now(),
        )
        session.add(cursor)
    cursor.uid_validity = uid_validity
    cursor.last_uid = uid
    cursor.updated_at = runtime.clock.now()
    session.flush()


def _logout(conn: imaplib.IMAP4) -> None:
    # If the server already went away there is nothing left to tidy.
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        conn.logout()
