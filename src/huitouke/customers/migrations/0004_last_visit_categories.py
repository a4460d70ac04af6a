"""CustomerStats.last_order_categories now holds the categories of her whole last visit.

It used to hold those of the order(s) at her exact last order time; it is now every counted
order on the local date of her last one, without fully returned lines (what lifecycle calls
"her last order"). Recompute it for every customer who has bought.
"""

from django.db import migrations


def recompute(apps, schema_editor):
    from huitouke.sales.stats import last_visit_categories

    Organisation = apps.get_model("accounts", "Organisation")
    CustomerStats = apps.get_model("customers", "CustomerStats")
    for organisation in Organisation.objects.all():
        bought = CustomerStats.objects.filter(organisation=organisation, last_order_at__isnull=False)
        ids = list(bought.values_list("customer_id", flat=True))
        found = last_visit_categories(ids, organisation.time_zone)
        changed = []
        for stats in bought.iterator(chunk_size=2000):
            value = sorted(found.get(stats.customer_id, ()))
            if stats.last_order_categories != value:
                stats.last_order_categories = value
                changed.append(stats)
        CustomerStats.objects.bulk_update(changed, ["last_order_categories"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_stats_first_order_index"),
        ("sales", "0001_initial"),
    ]

    operations = [migrations.RunPython(recompute, migrations.RunPython.noop)]
