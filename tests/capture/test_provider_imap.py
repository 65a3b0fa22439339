"""IMAP polling: UID cursor per folder, no duplicates across restarts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from firsttouch.capture.providers.imap import (
    ImapError,
    ImapMailbox,
    mailbox_from_settings,
    poll_mailbox,
)
from firsttouch.config import Secret, Settings
from firsttouch.runtime import Runtime
from firsttouch.store.models import ImapCursor
from tests.capture.imap_server import PASSWORD, USER, Folder, imap_server
from tests.capture.provider_support import inbounds


def mail(n: int, sender: str = "buyer") -> bytes:
    return (
        f"From: Buyer {n} <{sender}{n}@prospect-co.example>\r\n"
        "To: leads@northwindledger.example\r\n"
        f"Subject: Demo request {n}\r\n"
        f"Message-ID: <imap-test-{n}@prospect-co.example>\r\n"
        "Date: Tue, 10 Mar 2026 13:00:00 +0000\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Please call me about AP automation ({n}).\r\n"
    ).encode()


@pytest.fixture
def folder() -> Iterator[Folder]:
    with imap_server(Folder(uid_validity=41)) as served:
        yield served


def mailbox(folder: Folder, password: str = PASSWORD) -> ImapMailbox:
    return ImapMailbox(
        host="127.0.0.1",
        port=folder.port,
        username=USER,
        password=Secret(password),
        security="none",
        timeout=5,
    )


def cursor(runtime: Runtime) -> ImapCursor | None:
    with runtime.db.sessions() as session:
        return session.scalar(select(ImapCursor))


def test_first_poll_captures_every_message_and_stores_the_cursor(
    runtime: Runtime, folder: Folder
) -> None:
    folder.add(mail(1))
    folder.add(mail(2))
    result = poll_mailbox(runtime, mailbox(folder))
    assert (result.fetched, result.captured, result.duplicates) == (2, 2, 0)
    stored = inbounds(runtime)
    assert [i.channel for i in stored] == ["email", "email"]
    assert all(i.provider == "imap" and i.owner_id for i in stored)
    saved = cursor(runtime)
    assert saved is not None and (saved.uid_validity, saved.last_uid) == (41, 2)


def test_a_restarted_poller_fetches_only_new_mail(
    runtime: Runtime, folder: Folder
) -> None:
    folder.add(mail(1))
    poll_mailbox(runtime, mailbox(folder))
    again = poll_mailbox(runtime, mailbox(folder))  # a new process, same table
    assert again.fetched == 0 and folder.fetched == [1]

    folder.add(mail(2))
    third = poll_mailbox(runtime, mailbox(folder))
    assert (third.fetched, third.captured) == (1, 1)
    assert folder.fetched == [1, 2] and len(inbounds(runtime)) == 2


def test_uidvalidity_change_rereads_the_folder_without_duplicates(
    runtime: Runtime, folder: Folder
) -> None:
    for n in (1, 2, 3):
        folder.add(mail(n))
    poll_mailbox(runtime, mailbox(folder))
    del folder.messages[1]
    folder.renumber(uid_validity=42)

    result = poll_mailbox(runtime, mailbox(folder))
    assert result.restarted and (result.fetched, result.duplicates) == (2, 2)
    assert len(inbounds(runtime)) == 3
    saved = cursor(runtime)
    assert saved is not None and (saved.uid_validity, saved.last_uid) == (42, 2)


def test_batch_limit_leaves_the_rest_for_the_next_poll(
    runtime: Runtime, folder: Folder
) -> None:
    for n in range(1, 6):
        folder.add(mail(n))
    assert poll_mailbox(runtime, mailbox(folder), batch=2).last_uid == 2
    assert poll_mailbox(runtime, mailbox(folder), batch=10).captured == 3
    assert len(inbounds(runtime)) == 5


def test_wrong_password_is_a_clear_error_naming_the_server(
    runtime: Runtime, folder: Folder
) -> None:
    with pytest.raises(ImapError, match="IMAP login to 127.0.0.1") as caught:
        poll_mailbox(runtime, mailbox(folder, password="nope"))
    assert "nope" not in str(caught.value)
    assert inbounds(runtime) == []


def test_mailbox_comes_from_the_imap_variables(settings: Settings) -> None:
    assert mailbox_from_settings(settings) is None
    configured = settings.with_overrides(
        env={
            "IMAP_HOST": "127.0.0.1",
            "IMAP_USERNAME": USER,
            "IMAP_PASSWORD": "x",
            "IMAP_SECURITY": "none",
            "IMAP_FOLDER": "Leads",
        }
    )
    box = mailbox_from_settings(configured)
    assert box is not None and box.port == 143 and box.folder == "Leads"
    assert box.key == f"{USER}@127.0.0.1:143/Leads"


def test_the_worker_polls_on_a_durable_cycle(runtime: Runtime, folder: Folder) -> None:
    from firsttouch.capture.handlers import schedule_imap_polling
    from firsttouch.jobs.queue import JobQueue
    from firsttouch.worker import build_worker

    env = {
        **runtime.settings.env,
        "IMAP_HOST": "127.0.0.1",
        "IMAP_PORT": str(folder.port),
        "IMAP_USERNAME": USER,
        "IMAP_PASSWORD": PASSWORD,
        "IMAP_SECURITY": "none",
        "IMAP_POLL_SECONDS": "60",
    }
    runtime.settings = runtime.settings.with_overrides(env=env)
    folder.add(mail(1))

    # Two processes starting together queue one poll.
    assert schedule_imap_polling(runtime) and schedule_imap_polling(runtime)
    queue = JobQueue(runtime.db)
    assert [j.kind for j in queue.list()] == ["capture.imap_poll"]

    worker = build_worker(runtime, worker_id="imap-test")
    worker.run_once()
    assert len(inbounds(runtime)) == 1

    # The next poll waits its interval, then picks up new mail.
    folder.add(mail(2))
    while worker.run_once():  # the new lead's own jobs; not the next poll
        pass
    assert len(inbounds(runtime)) == 1
    waiting = [j for j in queue.list(state="queued") if j.kind == "capture.imap_poll"]
    assert len(waiting) == 1
    runtime.clock.advance(timedelta(seconds=61))  # type: ignore[attr-defined]
    worker.run_once()
    assert len(inbounds(runtime)) == 2


def test_polling_does_not_start_without_a_mailbox(runtime: Runtime) -> None:
    from firsttouch.capture.handlers import schedule_imap_polling

    assert schedule_imap_polling(runtime) is False
