"""CustomerDue keeps no day count and no as-of date (both change every night for every row).

The day count is derived where it is read: the refresh's as_of (the customer's
CustomerAnalytics.as_of, written by the same refresh) minus last_purchase_date, which every
row already holds, so the existing rows stay valid as they are.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0002_due_and_refresh_claim"),
    ]

    operations = [
        migrations.RemoveField(model_name="customerdue", name="as_of"),
        migrations.RemoveField(model_name="customerdue", name="days_since_last"),
    ]
