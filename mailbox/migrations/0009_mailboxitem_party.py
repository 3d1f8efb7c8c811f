import django.db.models.functions.text
from django.db import migrations, models
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, NullIf


def fill_party(apps, schema_editor):
    """Each existing item's party: the sender, or for the sender's own copy (the message was
    not delivered to this mailbox), the recipient."""
    MailboxItem = apps.get_model("mailbox", "MailboxItem")
    Message = apps.get_model("mailbox", "Message")
    for side, sent in (("sender", False), ("recipient", True)):
        name = Message.objects.filter(pk=OuterRef("message_id")).values(
            party=Coalesce(NullIf(f"{side}_label", models.Value("")), f"{side}_id")
        )[:1]
        own_copy = Q(message__recipient_mailbox_id=F("mailbox_id"))
        MailboxItem.objects.filter(~own_copy if sent else own_copy).update(party=Subquery(name))


class Migration(migrations.Migration):
    dependencies = [
        ("mailbox", "0008_partial_indexes_on_nullable_foreign_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="mailboxitem",
            name="party",
            field=models.CharField(
                blank=True,
                help_text="Who the letter is with: its sender, or for a letter this mailbox sent, its recipient",
                max_length=256,
            ),
        ),
        migrations.RunPython(fill_party, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="mailboxitem",
            index=models.Index(
                models.F("mailbox"),
                models.F("folder"),
                django.db.models.functions.text.Lower("party"),
                models.OrderBy(models.F("received_at"), descending=True),
                name="mailboxitem_party_idx",
            ),
        ),
    ]
