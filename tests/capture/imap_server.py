"""A small IMAP4rev1 server on loopback, enough for UID polling.

It speaks the commands ``imaplib`` sends for a poll: CAPABILITY, LOGIN,
SELECT/EXAMINE (with ``[UIDVALIDITY n]``), UID SEARCH, UID FETCH
``(BODY.PEEK[])`` with the message as a literal, NOOP and LOGOUT, in the
reply format of RFC 3501. Like a real server, ``UID SEARCH UID n:*`` also
returns the newest message when its UID is below n.
"""

from __future__ import annotations

import re
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

USER, PASSWORD = "leads@northwindledger.example", "imap-pass-for-tests"


@dataclass
class Folder:
    uid_validity: int = 1
    messages: dict[int, bytes] = field(default_factory=dict)
    fetched: list[int] = field(default_factory=list)
    port: int = 0

    def add(self, raw: bytes) -> int:
        uid = max(self.messages, default=0) + 1
        self.messages[uid] = raw
        return uid

    def renumber(self, uid_validity: int) -> None:
        """What a server does after a folder is rebuilt: new UIDs, new validity."""
        self.uid_validity = uid_validity
        self.messages = {
            i + 1: raw
            for i, raw in enumerate(self.messages[k] for k in sorted(self.messages))
        }


class _Handler(socketserver.StreamRequestHandler):
    folder: Folder

    def send(self, line: str | bytes) -> None:
        data = line.encode() if isinstance(line, str) else line
        self.wfile.write(data + b"\r\n")

    def handle(self) -> None:
        self.send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] test server ready")
        authed = False
        while True:
            line = self.rfile.readline()
            if not line:
                return
            tag, _, rest = line.decode().rstrip("\r\n").partition(" ")
            command, _, args = rest.partition(" ")
            command = command.upper()
            if command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1 AUTH=PLAIN")
                self.send(f"{tag} OK CAPABILITY completed")
            elif command == "LOGIN":
                user, password = [p.strip('"') for p in args.split(" ", 1)]
                authed = (user, password) == (USER, PASSWORD)
                self.send(
                    f"{tag} OK LOGIN completed"
                    if authed
                    else f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials"
                )
            elif command in ("SELECT", "EXAMINE") and authed:
                self._select(tag, command)
            elif command == "UID" and authed:
                self._uid(tag, args)
            elif command == "NOOP":
                self.send(f"{tag} OK NOOP completed")
            elif command == "LOGOUT":
                self.send("* BYE logging out")
                self.send(f"{tag} OK LOGOUT completed")
                return
            else:
                self.send(f"{tag} BAD unknown or unauthenticated command")

    def _select(self, tag: str, command: str) -> None:
        folder = self.folder
        self.send(f"* {len(folder.messages)} EXISTS")
        self.send("* 0 RECENT")
        self.send(f"* OK [UIDVALIDITY {folder.uid_validity}] UIDs valid")
        self.send(f"* OK [UIDNEXT {max(folder.messages, default=0) + 1}] next UID")
        mode = "READ-ONLY" if command == "EXAMINE" else "READ-WRITE"
        self.send(f"{tag} OK [{mode}] {command} completed")

    def _uid(self, tag: str, args: str) -> None:
        verb, _, rest = args.partition(" ")
        uids = sorted(self.folder.messages)
        if verb.upper() == "SEARCH":
            match = re.search(r"UID (\d+):\*", rest)
            start = int(match.group(1)) if match else 1
            found = [u for u in uids if u >= start]
            if not found and uids:
                found = [uids[-1]]  # RFC 3501: n:* always includes the last
            self.send("* SEARCH " + " ".join(map(str, found)))
            self.send(f"{tag} OK SEARCH completed")
        elif verb.upper() == "FETCH":
            uid = int(rest.split(" ", 1)[0])
            raw = self.folder.messages.get(uid)
            if raw is not None:
                self.folder.fetched.append(uid)
                seq = uids.index(uid) + 1
                self.wfile.write(
                    f"* {seq} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n".encode()
                    + raw
                    + b")\r\n"
                )
            self.send(f"{tag} OK FETCH completed")
        else:
            self.send(f"{tag} BAD unsupported UID command")


@contextmanager
def imap_server(folder: Folder) -> Iterator[Folder]:
    handler = type("Handler", (_Handler,), {"folder": folder})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    folder.port = server.server_address[1]
    try:
        yield folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
