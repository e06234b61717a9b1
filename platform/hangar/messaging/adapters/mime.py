"""An ``EmailMessage`` of the adapters' contract as a MIME message (text, optional HTML alternative)."""

from __future__ import annotations

import email.message
import email.utils

from hangar.messaging.adapters.base import EmailMessage

# Headers the adapter sets itself: a caller's header of the same name is ignored, not doubled.
_OWN_HEADERS = {"from", "to", "subject", "reply-to", "date", "message-id", "content-type", "mime-version"}


def mime_message(message: EmailMessage, *, default_sender: str) -> email.message.EmailMessage:
    mime = email.message.EmailMessage()
    sender = message.sender or default_sender
    mime["From"] = sender
    mime["To"] = ", ".join(message.to)
    mime["Subject"] = message.subject
    mime["Date"] = email.utils.formatdate(localtime=False)
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    mime["Message-ID"] = email.utils.make_msgid(domain=domain)
    if message.reply_to:
        mime["Reply-To"] = message.reply_to
    for name, value in message.headers.items():
        if name.lower() not in _OWN_HEADERS and "\n" not in value and "\r" not in value:
            mime[name] = value
    mime.set_content(message.text)
    if message.html:
        mime.add_alternative(message.html, subtype="html")
    return mime
