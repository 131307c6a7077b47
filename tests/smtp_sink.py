"""A real SMTP server for Colabel's tests: aiosmtpd on a free loopback port.

Usage: smtp_sink.py DIR [PORT]

Listens on PORT (default: a free one) and prints "LISTENING <port>" once it accepts connections, then serves until stdin closes or it
is killed. Every accepted message is written to DIR as NNNN.eml (the raw message) and
NNNN.json (envelope and decoded parts: from, to, subject, text, html), the JSON last, so a
reader that sees it sees a complete message.

How it answers DATA is read from DIR/mode on each message (default "accept"):
  accept   250, and the message is saved
  4xx      "451 4.3.0 try again later" (a transient refusal; nothing saved)
  5xx      "550 5.7.1 refused" (a permanent refusal; nothing saved)
  hold     writes DIR/held-N, then holds the connection without answering until the mode
           changes; then answers 421 without saving (the client is expected to be gone)
"""

import asyncio
import email
import email.policy
import json
import os
import socket
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0
        self.held = 0

    def mode(self):
        try:
            with open(os.path.join(self.folder, "mode")) as f:
                return f.read().strip() or "accept"
        except FileNotFoundError:
            return "accept"

    async def handle_DATA(self, server, session, envelope):
        mode = self.mode()
        if mode == "4xx":
            return "451 4.3.0 try again later"
        if mode == "5xx":
            return "550 5.7.1 refused"
        if mode == "hold":
            self.held += 1
            open(os.path.join(self.folder, f"held-{self.held}"), "w").close()
            while self.mode() == "hold":
                await asyncio.sleep(0.05)
            return "421 4.3.0 closing"
        self.count += 1
        base = os.path.join(self.folder, f"{self.count:04d}")
        raw = envelope.original_content or envelope.content
        with open(base + ".eml", "wb") as f:
            f.write(raw)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts = {"text": "", "html": ""}
        for part in message.walk():
            kind = part.get_content_type()
            if kind == "text/plain" and not parts["text"]:
                parts["text"] = part.get_content()
            elif kind == "text/html" and not parts["html"]:
                parts["html"] = part.get_content()
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(message["subject"] or ""),
            "text": parts["text"],
            "html": parts["html"],
        }
        with open(base + ".json.partial", "w") as f:
            json.dump(record, f)
        os.rename(base + ".json.partial", base + ".json")
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    folder = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else free_port()
    os.makedirs(folder, exist_ok=True)
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"LISTENING {controller.port}", flush=True)
    # Serve until the test closes our stdin (or kills us).
    done = threading.Event()

    def wait_for_stdin():
        sys.stdin.read()
        done.set()

    threading.Thread(target=wait_for_stdin, daemon=True).start()
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()
