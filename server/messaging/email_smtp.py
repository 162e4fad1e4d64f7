"""E-mail over SMTP (stdlib smtplib): plain text with accents, UTF-8, optional STARTTLS and login.

Failures before the message is handed over (no connection, greeting, STARTTLS, login, a 4xx answer) → retry;
a 5xx refusal → failed; the connection lost or timing out while the message is being handed over → failed
(it may have been delivered; never sent twice). The provider id is the Message-ID we give the message.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from server.messaging.channels import RAW_ERROR, Outcome, Outgoing, SendResult
from server.messaging.config import EmailConfig
from server.messaging.texts import subject


class EmailChannel:
    def __init__(self, config: EmailConfig) -> None:
        self.config = config

    def compose(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.config.sender
        mail["To"] = message.address
        mail["Subject"] = subject(message.kind, message.language)
        domain = self.config.sender.rpartition("@")[2].strip("> ") or None
        mail["Message-ID"] = make_msgid(idstring=message.key.replace(":", "."), domain=domain)
        mail.set_content(message.text)
        return mail

    def send(self, message: Outgoing, timeout: float) -> SendResult:
        mail = self.compose(message)
        try:
            smtp = smtplib.SMTP(self.config.host, self.config.port, timeout=timeout)
        except (OSError, smtplib.SMTPException) as exc:
            return SendResult(Outcome.RETRY, error=f"no connection: {exc.__class__.__name__}: {exc}"[:RAW_ERROR])
        try:
            try:
                if self.config.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.config.username:
                    smtp.login(self.config.username, self.config.password)
            except (OSError, smtplib.SMTPException) as exc:
                return SendResult(
                    Outcome.RETRY, error=f"SMTP before sending: {exc.__class__.__name__}: {exc}"[:RAW_ERROR]
                )
            return _hand_over(smtp, mail)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


def _hand_over(smtp: smtplib.SMTP, mail: EmailMessage) -> SendResult:
    try:
        smtp.send_message(mail)
    except smtplib.SMTPResponseException as exc:
        outcome = Outcome.RETRY if 400 <= exc.smtp_code < 500 else Outcome.FAILED
        return SendResult(outcome, error=f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:RAW_ERROR])
    except smtplib.SMTPRecipientsRefused as exc:
        return SendResult(Outcome.FAILED, error=f"recipient refused: {exc.recipients}"[:RAW_ERROR])
    except (OSError, smtplib.SMTPException) as exc:
        return SendResult(
            Outcome.FAILED, error=f"lost while sending, maybe delivered: {exc.__class__.__name__}"[:RAW_ERROR]
        )
    return SendResult(Outcome.SENT, provider_id=str(mail["Message-ID"])[:128])
