import django.db.models.functions.text
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_title(apps, schema_editor):
    """Each existing item's title: its message's label."""
    MailboxItem = apps.get_model("mailbox", "MailboxItem")
    Message = apps.get_model("mailbox", "Message")
    label = Message.objects.filter(pk=OuterRef("message_id")).values("label")[:1]
    MailboxItem.objects.update(title=Subquery(label))


class Migration(migrations.Migration):
    dependencies = [
        ("mailbox", "0010_batch_judged_in_chunks"),
    ]

    operations = [
        migrations.AddField(
            model_name="mailboxitem",
            name="title",
            field=models.CharField(
                blank=True, help_text="The letter's title (its MeMo label)", max_length=256
            ),
        ),
        migrations.RunPython(fill_title, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="mailboxitem",
            index=models.Index(
                models.F("mailbox"),
                models.F("folder"),
                django.db.models.functions.text.Lower("title"),
                models.OrderBy(models.F("received_at"), descending=True),
                name="mailboxitem_title_idx",
            ),
        ),
    ]
