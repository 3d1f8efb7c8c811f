from mailbox.models import MailboxItem
from tests.factories import make_message


def test_it_builds_a_delivered_letter_in_the_inbox(db, authority, citizen):
    message = make_message(sender=authority, recipient=citizen)
    item = MailboxItem.objects.get(message=message)
    assert item.mailbox == citizen.mailbox
    assert item.folder.kind == "INBOX"
