"""The customers side of the import engine: match each row, create or update, tags and links.

A row updates a customer only with the values it has (empty cells never erase anything), so
re-importing the same file changes nothing and counts every row as skipped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from huitouke.accounts.models import User
from huitouke.core.bulk import FastTable
from huitouke.customers.actions import CONSENT_CHANNELS as CONSENT_CHANNEL
from huitouke.customers.changes import customers_changed
from huitouke.customers.events import consent_answered
from huitouke.customers.models import Customer, Tag
from huitouke.customers.pinyin import name_keys
from huitouke.imports.matching import (
    Cust,
    CustomerIndex,
    ProductIndex,
    customer_row,
    customer_source,
    fake_id,
    new_customer,
    phone_or_error,
)
from huitouke.imports.models import PayerAlias, Platform
from huitouke.imports.rows import ParsedCustomerRow, RowError, make_error
from huitouke.imports.summary import PREVIEW_ROWS, ImportSummary

if TYPE_CHECKING:
    from huitouke.accounts.models import Organisation, Store
    from huitouke.imports.summary import Tally

CONSENT_FIELDS = tuple(CONSENT_CHANNEL)

PROFILE_COMPARED = (
    "name",
    "phone",
    "external_id",
    "wechat_id",
    "gender",
    "birthday_kind",
    "birth_year",
    "birth_month",
    "birth_day",
    "birth_leap_month",
    "city",
    "address",
    "email",
    "source",
    "home_store_id",
    "owner_id",
    "referrer_id",
    "notes",
)


class CustomerRowsMixin:
    """Importer methods for customer files (the Importer provides the attributes below)."""

    org: Organisation
    store: Store
    write: bool
    actor_id: int | None
    customers: CustomerIndex
    products: ProductIndex
    new_customers: list[tuple[Cust, SimpleNamespace]]
    summary: ImportSummary
    tables: dict[str, FastTable]
    _sim_customers: dict[int, Any]
    _tags: dict[str, int] | None = None
    _consents: list[tuple[Any, list[str]]]
    _nicknames: dict[str, int | None] | None = None

    # Methods the Importer provides.
    column: Callable[[str], str | None]

    aware: Callable[[Any], Any]

    def _customers(self, rows: list[ParsedCustomerRow], tally: Tally) -> None:
        if not hasattr(self, "_sim_customers"):
            self._sim_customers = {}
        if not hasattr(self, "_consents"):
            self._consents = []
        parsed: list[tuple[ParsedCustomerRow, str | None]] = []
        for row in rows:
            try:
                parsed.append((row, phone_or_error(row.phone)))
            except ValueError:
                tally.errors.append(
                    make_error(row.row, self.column("phone"), row.phone, "phone_invalid")
                )
        referrer_phones = []
        for row, _phone in parsed:
            if row.referrer and row.referrer[:1] in "+01":
                with contextlib.suppress(ValueError):
                    referrer_phones.append(phone_or_error(row.referrer))
        self.customers.prefetch(
            ext=(r.external_id for r, _ in parsed if r.external_id),
            phones=[p for _, p in parsed if p] + [p for p in referrer_phones if p],
            wechats=(r.wechat for r, _ in parsed if r.wechat),
            names=[r.name for r, _ in parsed if r.name]
            + [r.referrer for r, _ in parsed if r.referrer],
        )
        matched: list[tuple[ParsedCustomerRow, str | None, Cust, bool]] = []
        for row, phone in parsed:
            try:
                matched.append((row, phone, *self._match_customer(row, phone)))
            except _RowProblem as problem:
                tally.errors.append(problem.error)
        existing = {c.pk for _, _, c, created in matched if not created and c.pk > 0}
        instances = Customer.objects.in_bulk(sorted(existing)) if existing else {}
        pending = {id(record): instance for record, instance in self.new_customers}
        current_tags = self._current_tags(existing)
        changed_instances: dict[int, Any] = {}
        changed_fields: set[str] = set()
        tag_links: list[tuple[Cust, int]] = []
        referrals: list[tuple[Any, Cust]] = []
        aliases: list[tuple[str, Cust]] = []
        for row, phone, record, created in matched:
            instance: Any = (
                pending.get(id(record))
                or instances.get(record.pk)
                or self._sim_customers.get(record.pk)
            )
            if instance is None:
                continue  # merged away meanwhile
            fields = self._apply(instance, row, phone, referrals, record)
            tag_ids = [self._tag(name) for name in row.tags]
            have = current_tags.setdefault(record.pk, set())
            new_tags = [t for t in tag_ids if t not in have]
            have.update(new_tags)
            tag_links.extend((record, t) for t in new_tags)
            if row.nickname and row.nickname not in self._nickname_aliases():
                self._nickname_aliases()[row.nickname] = record.pk
                aliases.append((row.nickname, record))
            if created:
                tally.created += 1
                tally.details["customers_created"] += 1
                status = "new"
            elif record.new and id(record) in pending:
                status = "new"  # a second row for a customer this chunk creates
                tally.skipped += 1
            elif fields or new_tags:
                if fields and record.pk > 0:
                    changed_instances[record.pk] = instance
                    changed_fields.update(fields)
                tally.updated += 1
                tally.details["customers_updated"] += 1
                status = "updated"
            else:
                tally.skipped += 1
                tally.details["customers_unchanged"] += 1
                status = "unchanged"
            self._preview_customer(tally, row, instance, status, sorted(fields))
        self._save_customers(
            tally, changed_instances, changed_fields, tag_links, referrals, aliases
        )
        tally.details.update({k: v for k, v in self.products.created.items() if v})
        self.products.created = dict.fromkeys(self.products.created, 0)

    def _match_customer(self, row: ParsedCustomerRow, phone: str | None) -> tuple[Cust, bool]:
        found, fits = self.customers.find(row.external_id, phone, row.wechat, row.name)
        if found is None and len(fits) > 1 and not (row.external_id or phone or row.wechat):
            raise _RowProblem(
                make_error(row.row, self.column("name"), row.name, "customer_ambiguous")
            )
        if found is not None:
            other = self.customers.by_phone.get(phone or "")
            if phone and other is not None and other is not found:
                raise _RowProblem(make_error(row.row, self.column("phone"), phone, "phone_taken"))
            other = self.customers.by_ext.get(row.external_id or "")
            if row.external_id and other is not None and other is not found:
                raise _RowProblem(
                    make_error(
                        row.row, self.column("external_id"), row.external_id, "external_id_taken"
                    )
                )
            for key, value in (("phone", phone), ("external_id", row.external_id)):
                if value and not getattr(found, key):
                    self.customers.set_key(found, key, value)
            return found, False
        name = row.name or (phone or "").removeprefix("+86")
        record = Cust(fake_id(), name[:100], row.external_id or "", phone, row.wechat or "")
        self.customers.add_new(record)
        instance = new_customer(
            organisation_id=self.org.pk,
            name=record.name,
            home_store_id=self.store.pk,
            created_by_id=self.actor_id,
        )
        if row.joined_at is not None:
            instance.created_at = self.aware(row.joined_at)
        self.new_customers.append((record, instance))
        if not self.write:
            self._sim_customers[record.pk] = instance
        return record, True

    def _apply(
        self,
        instance: Any,
        row: ParsedCustomerRow,
        phone: str | None,
        referrals: list[tuple[Any, Cust]],
        record: Cust,
    ) -> list[str]:
        values: dict[str, Any] = {
            "name": row.name,
            "phone": phone,
            "external_id": row.external_id,
            "wechat_id": row.wechat,
            "gender": row.gender,
            "city": row.city,
            "address": row.address,
            "email": row.email,
        }
        if row.birthday is not None:
            b = row.birthday
            values.update(
                birthday_kind="lunar" if b.lunar else "solar",
                birth_year=b.year,
                birth_month=b.month,
                birth_day=b.day,
                birth_leap_month=b.leap_month,
            )
        if row.source:
            values["source"] = customer_source(row.source)
        if row.store:
            values["home_store_id"] = self.products.store(
                row.store, self.store.pk, write=self.write
            )
        if row.staff:
            values["owner_id"] = self.products.staff.get(row.staff)
        if row.consent is not None:
            # Only a consent column answers for her (PIPL art. 14): every channel as the file says.
            values.update(dict.fromkeys(CONSENT_FIELDS, row.consent))
        changed = [
            name
            for name, value in values.items()
            if value not in (None, "") and getattr(instance, name) != value
        ]
        consent_changed = [name for name in changed if name in CONSENT_FIELDS]
        if consent_changed:
            self._consents.append((instance, consent_changed))
        for name in changed:
            setattr(instance, name, values[name])
        if row.note and row.note not in instance.notes:
            instance.notes = f"{instance.notes}\n{row.note}".strip()
            changed.append("notes")
        if row.referrer:
            referrer = self._referrer(row.referrer)
            if referrer is not None and referrer is not record:
                if referrer.pk > 0 and instance.referrer_id != referrer.pk:
                    instance.referrer_id = referrer.pk
                    changed.append("referrer_id")
                elif referrer.pk < 0:
                    referrals.append((instance, referrer))  # set once she is saved
        return changed

    def _referrer(self, text: str) -> Cust | None:
        try:
            phone = phone_or_error(text) if text[:1] in "+01" else None
        except ValueError:
            phone = None
        found, _fits = self.customers.find(None, phone, None, None if phone else text)
        return found

    def _current_tags(self, pks: set[int]) -> dict[int, set[int]]:
        through = Customer.tags.through
        tags: dict[int, set[int]] = {}
        for customer_id, tag_id in through.objects.filter(customer_id__in=sorted(pks)).values_list(
            "customer_id", "tag_id"
        ):
            tags.setdefault(customer_id, set()).add(tag_id)
        return tags

    def _tag(self, name: str) -> int:
        if self._tags is None:
            self._tags = dict(
                Tag.objects.filter(organisation_id=self.org.pk).values_list("name", "pk")
            )
        name = name[:30]
        pk = self._tags.get(name)
        if pk is None:
            pk = (
                Tag.objects.create(organisation_id=self.org.pk, name=name).pk
                if self.write
                else fake_id()
            )
            self._tags[name] = pk
            self.summary.details["tags_created"] += 1
        return pk

    def _nickname_aliases(self) -> dict[str, int | None]:
        if self._nicknames is None:
            self._nicknames = dict(
                PayerAlias.objects.filter(
                    organisation_id=self.org.pk, platform=Platform.WECHAT
                ).values_list("payer", "customer_id")
            )
        return self._nicknames

    def _save_customers(
        self,
        tally: Tally,
        changed: dict[int, Any],
        fields: set[str],
        tag_links: list[tuple[Cust, int]],
        referrals: list[tuple[Any, Cust]],
        aliases: list[tuple[str, Cust]],
    ) -> None:
        for record, _instance in self.new_customers:
            tally.touched.add(record.pk)
        if not self.write:
            self._consents = []
            return
        if self.new_customers:
            ids = self.tables["customer"].insert_returning(
                [customer_row(i) for _, i in self.new_customers]
            )
            for (record, instance), pk in zip(self.new_customers, ids, strict=True):
                tally.touched.discard(record.pk)
                instance.pk = pk
                self.customers.rekey(record, pk)
                tally.touched.add(pk)
        if changed:
            now = timezone.now()
            for instance in changed.values():
                instance.updated_at = now
                if "name" in fields:
                    instance.name_pinyin, instance.name_initials = name_keys(instance.name)
            if "name" in fields:
                fields = fields | {"name_pinyin", "name_initials"}
            Customer.objects.bulk_update(
                list(changed.values()), sorted(fields | {"updated_at"}), batch_size=500
            )
        # In the chunk's transaction: a rolled-back chunk announces nothing. A customer who only
        # gains tags is updated too (webhooks, and WeCom marks her corp tags).
        created = {i.pk for _, i in self.new_customers if i.pk}
        tagged = [r.pk for r, _tag in tag_links if r.pk and r.pk > 0 and r.pk not in created]
        customers_changed(
            self.org.pk,
            created=sorted(created),
            updated=[i.pk for i in changed.values() if i.pk] + tagged,
        )
        self._send_consents()
        for instance, referrer in referrals:
            if referrer.pk > 0 and instance.pk:
                Customer.objects.filter(pk=instance.pk).update(referrer_id=referrer.pk)
        through = Customer.tags.through
        if tag_links:
            through.objects.bulk_create(
                [through(customer_id=record.pk, tag_id=tag) for record, tag in tag_links],
                ignore_conflicts=True,
            )
        if aliases:
            PayerAlias.objects.bulk_create(
                [
                    PayerAlias(
                        organisation_id=self.org.pk,
                        platform=Platform.WECHAT,
                        payer=nickname[:100],
                        customer_id=record.pk,
                        created_by_id=self.actor_id,
                    )
                    for nickname, record in aliases
                ],
                ignore_conflicts=True,
            )

    def _send_consents(self) -> None:
        """The consent answers of the file's consent column, kept as ConsentEvents (source import)."""
        now = timezone.now()
        answers = [
            (instance.pk, self.org.pk, CONSENT_CHANNEL[name], bool(getattr(instance, name)))
            for instance, names in self._consents
            if instance.pk
            for name in names
        ]
        customer_ids = sorted({a[0] for a in answers})
        self._consents = []
        if not answers:
            return
        Customer.objects.filter(pk__in=customer_ids).update(consent_updated_at=now)
        actor = User.objects.filter(pk=self.actor_id).first() if self.actor_id else None
        consent_answered.send(
            sender=Customer, answers=answers, source="import", actor=actor, at=now
        )

    def _preview_customer(
        self,
        tally: Tally,
        row: ParsedCustomerRow,
        instance: Any,
        status: str,
        fields: list[str],
    ) -> None:
        if len(self.summary.preview) + len(tally.preview) >= PREVIEW_ROWS:
            return
        tally.preview.append(
            {
                "row": row.row,
                "status": status,
                "name": instance.name,
                "phone": (instance.phone or "").removeprefix("+86"),
                "external_id": instance.external_id,
                "changes": fields,
            }
        )


class _RowProblem(Exception):
    def __init__(self, error: RowError) -> None:
        super().__init__(error.message_en)
        self.error = error
