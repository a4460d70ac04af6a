"""Where webhook events come from: the apps' events and saves, inside the writes' transactions.

Connected in IntegrationsConfig.ready().

Each receiver builds a minimal payload (ids, amounts, kinds; no names, phones or notes) and
calls webhooks.emit, which only queues: nothing leaves before the write commits.
"""

from __future__ import annotations

from typing import Any

from huitouke.customers.changes import CONSENT_FIELDS, CustomerChanges
from huitouke.customers.models import Customer
from huitouke.integrations.models import Tombstone, WebhookEvent
from huitouke.integrations.tombstones import record_tombstone, record_tombstones
from huitouke.integrations.webhooks import emit, emit_many
from huitouke.loyalty.models import Coupon
from huitouke.sales.models import Order

# Audit entries of actions that take a customer out of the feeds (erasure, deletion).
AUDITED_TOMBSTONES = {
    "customer_deleted": Tombstone.Reason.DELETED,
    "customer_anonymised": Tombstone.Reason.ANONYMISED,
    "anonymise": Tombstone.Reason.ANONYMISED,
    "erase": Tombstone.Reason.ANONYMISED,
}


def on_order_paid(sender: Any, *, order: Any, **kwargs: Any) -> None:
    """sales.events.order_paid: order.paid."""
    emit(
        order.organisation_id,
        WebhookEvent.ORDER_PAID,
        {
            "order_id": order.pk,
            "customer_id": order.customer_id,
            "store_id": order.store_id,
            "external_id": order.external_id,
            "net_paid": str(order.net_paid),
            "placed_at": order.placed_at.isoformat(),
        },
    )


def on_order_refunded(sender: Any, *, order: Any, refund: Any, **kwargs: Any) -> None:
    """sales.events.order_refunded: order.refunded."""
    emit(
        order.organisation_id,
        WebhookEvent.ORDER_REFUNDED,
        {
            "order_id": order.pk,
            "refund_id": refund.pk,
            "customer_id": order.customer_id,
            "amount": str(refund.amount),
            "status": order.status,
        },
    )


def on_customers_merged(sender: Any, *, keep: Any, duplicate: Any, **kwargs: Any) -> None:
    """customers.events.customers_merged: customer.merged, and the duplicate leaves the feed."""
    record_tombstone(
        keep.organisation_id,
        Tombstone.Kind.CUSTOMER,
        duplicate.pk,
        Tombstone.Reason.MERGED,
        replaced_by_id=keep.pk,
    )
    emit(
        keep.organisation_id,
        WebhookEvent.CUSTOMER_MERGED,
        {"customer_id": keep.pk, "merged_customer_id": duplicate.pk},
    )


def on_customer_erased(
    sender: Any, *, customer: Any, removed: dict[str, list[int]], **kwargs: Any
) -> None:
    """customers.events.customer_erased: her removed messages leave the message feed; her kept
    orders and coupons are anonymous money records now (the customer's own tombstone comes from
    the audit entry, below)."""
    org = customer.organisation_id
    anonymised = Tombstone.Reason.ANONYMISED
    record_tombstones(org, Tombstone.Kind.MESSAGE, removed.get("Message", []), anonymised)
    orders = Order.objects.filter(customer_id=customer.pk).values_list("pk", flat=True)
    record_tombstones(org, Tombstone.Kind.ORDER, list(orders), anonymised)
    coupons = Coupon.objects.filter(customer_id=customer.pk).values_list("pk", flat=True)
    record_tombstones(org, Tombstone.Kind.COUPON, list(coupons), anonymised)


def on_orders_merged(
    sender: Any, *, organisation_id: int, merged: dict[int, int], **kwargs: Any
) -> None:
    """sales.events.orders_merged: each removed order is a tombstone naming the kept one."""
    record_tombstones(
        organisation_id, Tombstone.Kind.ORDER, merged, Tombstone.Reason.MERGED, replaced_by=merged
    )


def on_task_completed(sender: Any, *, task: Any, **kwargs: Any) -> None:
    """followups.events.task_completed: task.completed."""
    emit(
        task.organisation_id,
        WebhookEvent.TASK_COMPLETED,
        {"task_id": task.pk, "customer_id": task.customer_id, "kind": task.kind},
    )


def on_coupon_redeemed(sender: Any, *, coupon: Any, order: Any, **kwargs: Any) -> None:
    """loyalty.events.coupon_redeemed (the quick order's coupon and do_redeem_coupon's)."""
    emit(
        coupon.organisation_id,
        WebhookEvent.COUPON_REDEEMED,
        {
            "customer_id": coupon.customer_id,
            "coupon_id": coupon.pk,
            "order_id": order.pk if order is not None else None,
        },
    )


def on_customers_changed(sender: Any, *, changes: CustomerChanges, **kwargs: Any) -> None:
    """customers.events.customers_changed, and a single save (below): the one way customer
    events are queued."""
    org = changes.organisation_id
    for event, ids in (
        (WebhookEvent.CUSTOMER_CREATED, changes.created),
        (WebhookEvent.CUSTOMER_UPDATED, changes.updated),
    ):
        if ids:
            external = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "external_id"))
            emit_many(
                org, event, [{"customer_id": pk, "external_id": external.get(pk, "")} for pk in ids]
            )
    if changes.consent:
        emit_many(
            org,
            WebhookEvent.CONSENT_CHANGED,
            [
                {"customer_id": pk, **dict(zip(("sms", "email", "wechat"), values, strict=True))}
                for pk, values in changes.consent.items()
            ],
        )


def on_customer_saving(sender: Any, instance: Any, raw: bool, **kwargs: Any) -> None:
    # Remember her consent as stored, to tell a consent change from any other edit.
    update_fields = kwargs.get("update_fields")
    if (
        raw
        or instance.pk is None
        or (update_fields and not set(update_fields) & set(CONSENT_FIELDS))
    ):
        return
    instance._consent_before = (
        type(instance).objects.filter(pk=instance.pk).values_list(*CONSENT_FIELDS).first()
    )


def on_customer_saved(sender: Any, instance: Any, created: bool, raw: bool, **kwargs: Any) -> None:
    if raw or instance.merged_into_id is not None:
        return
    before = getattr(instance, "_consent_before", None)
    after = tuple(getattr(instance, f) for f in CONSENT_FIELDS)
    instance._consent_before = None
    on_customers_changed(
        Customer,
        changes=CustomerChanges(
            organisation_id=instance.organisation_id,
            created=(instance.pk,) if created else (),
            updated=() if created else (instance.pk,),
            consent={instance.pk: after} if before is not None and tuple(before) != after else {},
        ),
    )


def on_points_entry_saved(
    sender: Any, instance: Any, created: bool, raw: bool, **kwargs: Any
) -> None:
    if raw or not created:
        return
    emit(
        instance.organisation_id,
        WebhookEvent.POINTS_CHANGED,
        {
            "customer_id": instance.customer_id,
            "entry_id": instance.pk,
            "kind": instance.kind,
            "points": instance.points,
            "balance_after": instance.balance_after,
            "order_id": instance.order_id,
        },
    )


def on_audit_entry_saved(
    sender: Any, instance: Any, created: bool, raw: bool, **kwargs: Any
) -> None:
    if raw or not created or instance.organisation_id is None:
        return
    if instance.action in AUDITED_TOMBSTONES and instance.object_type == "customer":
        record_tombstone(
            instance.organisation_id,
            Tombstone.Kind.CUSTOMER,
            _int(instance.object_id) or 0,
            AUDITED_TOMBSTONES[instance.action],
        )


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None
