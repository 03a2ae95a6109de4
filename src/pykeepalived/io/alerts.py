"""SMTP alerts, as keepalived mails them: to notification_email, from notification_email_from, through
smtp_server, with keepalived's subjects ("[router_id] Realserver ... - DOWN") and one-line bodies."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from ..config.model import GlobalDefs


def alert_message(global_defs: GlobalDefs, subject: str, body: str) -> EmailMessage | None:
    """The message, or None when no mail is configured (keepalived's rule: addresses and a server)."""
    if not global_defs.notification_email or global_defs.smtp_server is None:
        return None
    message = EmailMessage()
    message["Date"] = formatdate(localtime=True)
    message["From"] = global_defs.notification_email_from or "keepalived@localhost"
    message["To"] = ", ".join(global_defs.notification_email)
    message["Subject"] = f"[{global_defs.router_id}] {subject}" if global_defs.router_id else subject
    message["X-Mailer"] = "pykeepalived"
    message.set_content(body)
    return message


async def send_alert(global_defs: GlobalDefs, subject: str, body: str, logger: logging.Logger) -> None:
    message = alert_message(global_defs, subject, body)
    if message is None or global_defs.smtp_server is None:
        return
    address, port = global_defs.smtp_server
    try:
        await aiosmtplib.send(
            message,
            hostname=str(address),
            port=port or 25,
            timeout=global_defs.smtp_connect_timeout,
            local_hostname=global_defs.smtp_helo_name or "localhost",
            start_tls=False,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        logger.error(f"Error sending SMTP alert '{subject}': {error}")
    else:
        logger.info("SMTP alert successfully sent.")
