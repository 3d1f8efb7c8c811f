from django.apps import AppConfig


class MailboxConfig(AppConfig):
    # "mailbox" is also a module of the standard library; the label keeps Django's name unique.
    name = "mailbox"
    label = "mailbox"
    verbose_name = "Mailboxes and messages"
