"""`huitouke analytics refresh|clv`: recompute the stored analytics, or fit the CLV model and report.

huitouke analytics refresh [--as-of YYYY-MM-DD] [--org NAME]
huitouke analytics clv --calibration-end DATE [--holdout-end DATE] [--org NAME]
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import polars as pl
from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.accounts.models import Organisation
from huitouke.analytics import clv
from huitouke.analytics.jobs import refresh_organisation
from huitouke.analytics.loader import load_orders


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{text!r} is not a date of the form YYYY-MM-DD.") from exc


class Command(BaseCommand):
    help = "Recompute the stored analytics (refresh), or fit and check the CLV model (clv)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        refresh = sub.add_parser("refresh", help="Recompute every stored analytics result.")
        refresh.add_argument("--as-of", type=_date, help="As-of date (default: today, local).")
        refresh.add_argument("--org", help="Organisation name (default: every organisation).")
        fit = sub.add_parser("clv", help="Fit BG/NBD and Gamma-Gamma; print parameters and fit.")
        fit.add_argument("--calibration-end", type=_date, required=True)
        fit.add_argument(
            "--holdout-end", type=_date, help="End of the holdout (default: the last order)."
        )
        fit.add_argument("--org", help="Organisation name (needed when there are several).")
        fit.add_argument(
            "--freq-days", type=float, default=7.0, help="Time unit in days (default 7: weeks)."
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "refresh":
            self.refresh(opts["org"], opts["as_of"])
        else:
            org = self._one_org(opts["org"])
            self.clv(org, opts["calibration_end"], opts["holdout_end"], opts["freq_days"])

    def _one_org(self, name: str | None) -> Organisation:
        orgs = Organisation.objects.all()
        if name:
            orgs = orgs.filter(name=name)
        found = list(orgs[:2])
        if not found:
            raise CommandError(f"No organisation named {name!r}." if name else "No organisation.")
        if len(found) > 1:
            raise CommandError("There are several organisations; choose one with --org NAME.")
        return found[0]

    def refresh(self, name: str | None, as_of: dt.date | None) -> None:
        orgs = [self._one_org(name)] if name else list(Organisation.objects.order_by("pk"))
        if not orgs:
            raise CommandError("No organisation.")
        for org in orgs:
            run = refresh_organisation(org, as_of)
            if run is None:
                self.stdout.write(f"{org.name}: another refresh is running; skipped.")
                continue
            summary = {
                "organisation": org.name,
                "as_of": run.as_of.isoformat(),
                "customers": run.customers,
                "seconds": run.detail.get("seconds"),
                "clv": "ok" if run.detail.get("clv_ok") else run.detail.get("clv_error"),
            }
            self.stdout.write(json.dumps(summary, ensure_ascii=False))

    def clv(
        self,
        org: Organisation,
        calibration_end: dt.date,
        holdout_end: dt.date | None,
        freq_days: float,
    ) -> None:
        orders = load_orders(org)
        last = orders["order_date"].max() if orders.height else None
        if holdout_end is None and isinstance(last, dt.date):
            holdout_end = max(last, calibration_end)
        orders = orders.filter(pl.col("order_date") <= (holdout_end or calibration_end))
        try:
            summary = clv.rfm_summary(
                orders["customer_id"].to_numpy(),
                orders["order_date"].to_numpy(),
                (orders["net_cents"] / 100).to_numpy(),
                calibration_end,
                holdout_end=holdout_end,
                freq_days=freq_days,
            )
            fit = clv.fit_clv(summary)
        except clv.ClvDataError as exc:
            raise CommandError(f"Cannot fit the CLV model: {exc.message} ({exc.code}).") from exc
        out = self.stdout.write
        out(f"Organisation: {org.name}")
        out(
            f"Calibration: first order to {calibration_end} ({len(summary)} customers, "
            f"{fit.n_repeaters} with repeat orders); time unit {freq_days:g} days"
        )
        out("BG/NBD parameters:")
        for name in ("r", "alpha", "a", "b"):
            out(f"  {name:<6}= {fit.params[name]:.4f}")
        out(f"  log-likelihood = {fit.log_likelihood:.2f}")
        out("Gamma-Gamma parameters:")
        for name in ("p", "q", "gamma"):
            out(f"  {name:<6}= {fit.params[name]:.4f}")
        out(f"  log-likelihood = {fit.gamma_gamma_log_likelihood:.2f}")
        for warning in fit.warnings:
            out(f"Warning: {warning.message}")
        if holdout_end is None or holdout_end <= calibration_end:
            out("No holdout period: no comparison.")
            return
        bg = clv.BgNbdParams(**{k: fit.params[k] for k in ("r", "alpha", "a", "b")})
        table = clv.holdout_comparison(summary, bg)
        out(f"Holdout {calibration_end} to {holdout_end}: mean orders per customer")
        out(f"  {'repeat orders':>13} {'customers':>9} {'actual':>8} {'predicted':>9}")
        top = int(table["x"][-1])
        for x, n, actual, predicted in zip(
            table["x"], table["customers"], table["actual"], table["predicted"], strict=True
        ):
            label = f"{x}+" if x == top else str(x)
            out(f"  {label:>13} {int(n):>9} {_num(actual):>8} {_num(predicted):>9}")


def _num(value: float) -> str:
    return "—" if not np.isfinite(value) else f"{value:.3f}"
