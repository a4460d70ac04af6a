from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0003_order_updated_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderline",
            name="import_key",
            field=models.CharField(blank=True, default="", max_length=40),
        ),
    ]
