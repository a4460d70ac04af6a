"""Forms of the import screens: upload, column mapping, payer confirmation, commit."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from huitouke.imports.mapping import synonyms_for
from huitouke.imports.models import ImportFormat, ImportKind, ImportMode
from huitouke.imports.rows import field_label

IGNORE = "-"
MAX_UPLOAD = 200 * 1024 * 1024


def lang() -> str:
    """The language row errors and field labels are shown in: the request's."""
    return get_language() or "zh-hans"


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportKind.choices)
    format = forms.ChoiceField(
        label=_("Format"), choices=ImportFormat.choices, initial=ImportFormat.AUTO
    )
    file = forms.FileField(
        label=_("File"),
        help_text=_("Excel (.xlsx), CSV, or a WeChat Pay / Alipay bill export."),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(_("The file is larger than 200 MB."))
        return upload


class CommitForm(forms.Form):
    mode = forms.ChoiceField(
        label=_("Rows with errors"),
        choices=ImportMode.choices,
        initial=ImportMode.ALL_OR_NOTHING,
        widget=forms.RadioSelect,
    )
    create_customers = forms.BooleanField(
        label=_("Create customers the file names but who are not here yet"),
        required=False,
        initial=True,
    )
    create_products = forms.BooleanField(
        label=_("Create products and categories that are not here yet"),
        required=False,
        initial=True,
    )


def field_choices(kind: str) -> list[tuple[str, str]]:
    """(field, label) choices for mapping a column, "-" first for "do not import"."""
    language = lang()
    fields = [(name, field_label(name, language)) for name in synonyms_for(kind)]  # type: ignore[arg-type]
    return [(IGNORE, str(_("— do not import —"))), *fields]


def mapping_from_post(data: Any, columns: list[str]) -> dict[str, str]:
    """{column: field or "-"} from the mapping form's `col-<n>` selects."""
    mapping: dict[str, str] = {}
    for index, column in enumerate(columns):
        value = data.get(f"col-{index}")
        if value is not None:
            mapping[column] = value or IGNORE
    return mapping
