"""Customer.erased_at: when her personal data was erased (PIPL), instead of inferring it.

Customers erased before this field existed are the ones marked as merged into themselves; they
get the time of their `customer_anonymised` audit entry (or now, if there is none). The lead
re-chains this after customers 0006 when both land.
"""

from django.db import migrations, models
from django.db.models import F
from django.utils import timezone


def backfill(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    AuditEntry = apps.get_model("audit", "AuditEntry")
    for customer in Customer.objects.filter(merged_into_id=F("id"), erased_at__isnull=True):
        at = (
            AuditEntry.objects.filter(
                action="customer_anonymised", object_type="customer", object_id=str(customer.pk)
            )
            .order_by("at")
            .values_list("at", flat=True)
            .first()
        )
        Customer.objects.filter(pk=customer.pk).update(erased_at=at or timezone.now())


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0006_name_pinyin"),
        ("audit", "0002_action_any_code"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="erased_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="erased"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
