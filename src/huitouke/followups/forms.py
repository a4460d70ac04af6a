"""Forms of the task screens: close a task, create one by hand, edit an SOP rule, choose a period."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from huitouke.accounts.models import User
from huitouke.accounts.scoping import staff_q
from huitouke.analytics.models import RfmSegment
from huitouke.followups.models import SopRule, TaskKind
from huitouke.followups.scripts import LABELS, VARIABLES, from_readable, readable
from huitouke.sales.models import Category
from huitouke.segments.models import Segment


class CompleteForm(forms.Form):
    outcome = forms.CharField(
        label=_("Outcome"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": _("What happened? (e.g. she will come on Saturday)")}
        ),
    )


class SkipForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("Why is it skipped?")}),
    )


def script_help() -> str:
    """The variables a script may use, for the script field's help text, by the names people
    type (［称呼］), never the stored {{ code }}."""
    names = pgettext("list separator", ", ").join(f"［{LABELS[name]}］" for name, _ex in VARIABLES)
    return gettext("Variables: %(names)s. Example: %(example)s, hello…") % {
        "names": names,
        "example": f"［{LABELS['salutation']}］",
    }


class ScriptField(forms.CharField):
    """A script field that shows {{ variables }} as ［称呼］ and stores what is typed that way
    as {{ salutation }}."""

    def prepare_value(self, value: Any) -> Any:
        return readable(value) if isinstance(value, str) else value

    def to_python(self, value: Any) -> Any:
        return from_readable(super().to_python(value) or "")


class TaskForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=TaskKind.choices)
    title = forms.CharField(label=_("Title"), max_length=100, required=False)
    due_at = forms.DateTimeField(
        label=_("Due"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )
    assignee = forms.ModelChoiceField(
        label=_("Assigned to"),
        queryset=User.objects.none(),
        required=False,
        help_text=_("Empty: the customer's owner."),
    )
    script = ScriptField(
        label=_("Script"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ModelChoiceField)
        assignee.queryset = User.objects.filter(staff_q(user), is_active=True)


class SopRuleForm(forms.ModelForm):
    rfm_segment = forms.ChoiceField(
        label=_("RFM segment"), choices=[("", "—"), *RfmSegment.choices], required=False
    )

    class Meta:
        model = SopRule
        field_classes = {"script_template": ScriptField}
        fields = [
            "name",
            "is_active",
            "trigger",
            "threshold",
            "days",
            "window_start_days",
            "window_end_days",
            "event",
            "rfm_segment",
            "segment",
            "category",
            "phase",
            "delay_hours",
            "kind",
            "assign_to",
            "script_template",
        ]
        widgets = {"script_template": forms.Textarea(attrs={"rows": 5})}
        help_texts = {
            "threshold": _(
                "Order amount for “order paid”; 12-month spend that makes a VIP for birthdays."
            ),
            "days": _("Days before the birthday, or N for “N days after an event”."),
            "window_start_days": _("Window after the first order: from day … until day …"),
            "phase": _(
                "For “a purchase entered a phase”: the phase of the category's use cycle, "
                "once per purchase."
            ),
            "delay_hours": _(
                "The task is due this many hours after the event. Tasks of a window after the "
                "first order are due at the window's end; birthday cards before the birthday."
            ),
        }

    def __init__(self, *args: Any, organisation_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        segment = self.fields["segment"]
        assert isinstance(segment, forms.ModelChoiceField)
        segment.queryset = Segment.objects.filter(organisation_id=organisation_id)
        category = self.fields["category"]
        assert isinstance(category, forms.ModelChoiceField)
        category.queryset = Category.objects.filter(organisation_id=organisation_id)
        self.fields["script_template"].help_text = script_help()
        if self.instance.pk and self.instance.is_built_in:
            self.fields["trigger"].disabled = True

    def action_fields(self) -> dict[str, Any]:
        """The cleaned values as the rule actions take them."""
        return {name: self.cleaned_data.get(name) for name in self.Meta.fields}


def _month_start(day: date) -> date:
    return day.replace(day=1)


class PeriodForm(forms.Form):
    # <input type=date> only accepts ISO dates, whatever the language's date format.
    start = forms.DateField(
        label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            raise forms.ValidationError(_("The period ends before it starts."))
        if start and end and (end - start).days > 3660:
            raise forms.ValidationError(_("Choose a period of at most ten years."))
        return data

    @staticmethod
    def default(today: date) -> tuple[date, date]:
        """This month so far."""
        return _month_start(today), today

    @staticmethod
    def presets(today: date) -> list[tuple[str, date, date]]:
        """Quick choices: this month, last month, last 30 and 90 days."""
        last_month_end = _month_start(today) - timedelta(days=1)
        return [
            (str(_("This month")), _month_start(today), today),
            (str(_("Last month")), _month_start(last_month_end), last_month_end),
            (str(_("Last 30 days")), today - timedelta(days=29), today),
            (str(_("Last 90 days")), today - timedelta(days=89), today),
        ]
