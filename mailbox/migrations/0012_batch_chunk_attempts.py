from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mailbox", "0011_mailboxitem_title"),
    ]

    operations = [
        migrations.AddField(
            model_name="batchchunk",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="batchchunk",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
