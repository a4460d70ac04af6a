"""The refunds side of the import engine: bill refunds matched to their payments, after the orders.

Refunds come last, once every order of the file is saved: a bill lists the newest first, so a
refund usually comes before the payment it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from huitouke.imports.matching import CustomerIndex, existing_keys
from huitouke.imports.rows import ParsedRefundRow, make_error
from huitouke.imports.summary import Reject, SimOrder, Tally, refund_key
from huitouke.sales.actions import do_refund_order
from huitouke.sales.models import Order, OrderStatus, Refund

if TYPE_CHECKING:
    from huitouke.accounts.models import Organisation


class RefundRowsMixin:
    """Importer methods for refund rows (the Importer provides the attributes below)."""

    org: Organisation
    actor: Any
    write: bool
    customers: CustomerIndex
    aliases: dict[str, int | None]
    sim_orders: dict[str, SimOrder]
    pending_refunds: list[ParsedRefundRow]

    # Methods the Importer provides.
    aware: Callable[[Any], Any]
    _merge: Callable[[Tally], None]
    _payer_column: Callable[[], str | None]
    _id_column: Callable[[], str | None]

    def _refunds(self) -> None:
        if not self.pending_refunds:
            return
        refunds = sorted(self.pending_refunds, key=lambda r: (r.refunded_at, r.row))
        keys = [refund_key(r) for r in refunds]
        existing = existing_keys(Refund, self.org.pk, keys)
        seen: set[str] = set()
        tally = Tally()
        for refund, key in zip(refunds, keys, strict=True):
            if key in existing or key in seen:
                tally.skipped += 1
                tally.details["refunds_existing"] += 1
                continue
            seen.add(key)
            try:
                self._refund(refund, key, tally)
            except Reject as reject:
                tally.errors.append(reject.error)
                continue
            tally.created += 1
            tally.details["refunds_created"] += 1
        self._merge(tally)

    def _refund(self, refund: ParsedRefundRow, key: str, tally: Tally) -> None:
        reference = refund.original_external_id or refund.nickname or refund.payer_id or ""
        column = self._id_column() if refund.original_external_id else self._payer_column()
        if not self.write:
            if not self._sim_refund_target(refund):
                raise Reject(make_error(refund.row, column, reference, "refund_order_not_found"))
            return
        order = self._refund_target(refund)
        if order is None:
            raise Reject(make_error(refund.row, column, reference, "refund_order_not_found"))
        try:
            with transaction.atomic():
                made = do_refund_order(
                    order=order,
                    actor=self.actor,
                    amount=refund.amount,
                    reason=(refund.note or _("Refund from the payment bill"))[:200],
                    external_id=key,
                )
                Refund.objects.filter(pk=made.pk).update(created_at=self.aware(refund.refunded_at))
        except ValidationError as exc:
            raise Reject(
                make_error(
                    refund.row, column, reference, "refund_rejected", detail=" ".join(exc.messages)
                )
            ) from None
        if order.customer_id is not None:
            tally.touched.add(order.customer_id)

    def _refund_customer(self, refund: ParsedRefundRow) -> int | None:
        payer = refund.nickname or refund.payer_id
        if not payer:
            return None
        if payer in self.aliases:
            return self.aliases[payer]
        self.customers.prefetch(names=[payer])
        found, _fits = self.customers.find(None, None, None, payer)
        return found.pk if found else None

    def _refund_target(self, refund: ParsedRefundRow) -> Order | None:
        orders = Order.objects.filter(organisation_id=self.org.pk)
        if refund.original_external_id:
            return orders.filter(external_id=refund.original_external_id).first()
        customer_id = self._refund_customer(refund)
        if customer_id is None:
            return None
        # A refund row without the original payment's id: her latest payment before it that
        # still holds the amount.
        return (
            orders.filter(
                customer_id=customer_id,
                status=OrderStatus.PAID,
                placed_at__lte=self.aware(refund.refunded_at),
                net_paid__gte=F("refunded_amount") + refund.amount,
            )
            .order_by("-placed_at", "-pk")
            .first()
        )

    def _sim_refund_target(self, refund: ParsedRefundRow) -> bool:
        if refund.original_external_id:
            return refund.original_external_id in self.sim_orders or bool(
                existing_keys(Order, self.org.pk, [refund.original_external_id])
            )
        customer_id = self._refund_customer(refund)
        if customer_id is None:
            return False
        when = self.aware(refund.refunded_at)
        if any(
            s.customer == customer_id and s.placed_at <= when and s.net >= refund.amount
            for s in self.sim_orders.values()
        ):
            return True
        return customer_id > 0 and self._refund_target(refund) is not None
