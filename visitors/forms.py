"""The phone page's forms: they check the shape of what the visitor typed; the check-in service judges the rest."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from denpasar_checkin.nik import nik_validate

# The page offers three children; the service accepts a few more (the officer's form may need them).
MAX_CHILDREN = 3
# Room for a NIK typed with spaces or dots ("5171 0101 9000 0001"); nik_validate removes them.
NIK_INPUT_MAX_LENGTH = 20


class TelInput(forms.TextInput):
    input_type = "tel"


def _nik_input() -> forms.TextInput:
    # No autocomplete: on a shared phone the next person must not be offered someone else's NIK.
    return forms.TextInput(
        attrs={"inputmode": "numeric", "autocomplete": "off", "autocapitalize": "off", "spellcheck": "false"}
    )


def _nik_field(*, required: bool = True) -> forms.CharField:
    return forms.CharField(
        max_length=NIK_INPUT_MAX_LENGTH,
        required=required,
        widget=_nik_input(),
        error_messages={"required": _("NIK is required.")},
    )


class CheckinForm(forms.Form):
    """First visit: NIK, name, optional phone and children, 'remember this phone', and consent."""

    nik = _nik_field()
    name = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "words"}),
        error_messages={"required": _("Enter your full name as on your KTP.")},
    )
    phone = forms.CharField(
        max_length=20, required=False, widget=TelInput(attrs={"inputmode": "tel", "autocomplete": "tel"})
    )
    remember = forms.BooleanField(required=False, initial=True)
    consent = forms.BooleanField(
        error_messages={"required": _("Please tick the box to agree, or you cannot check in.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for n in range(1, MAX_CHILDREN + 1):
            self.fields[f"child{n}_nik"] = _nik_field(required=False)
            self.fields[f"child{n}_name"] = forms.CharField(
                max_length=200, required=False, widget=forms.TextInput(attrs={"autocomplete": "off"})
            )
        # Errors the service reports for the children as a whole ("Child 2: ..."), shown in their section.
        self.dependant_errors: list[str] = []

    def clean_nik(self) -> str:
        return nik_validate(self.cleaned_data["nik"])

    def clean(self):
        cleaned = super().clean()
        children = []
        for n in range(1, MAX_CHILDREN + 1):
            nik, name = cleaned.get(f"child{n}_nik", ""), cleaned.get(f"child{n}_name", "")
            if nik or name:
                children.append({"nik": nik, "name": name})
        cleaned["dependants"] = children
        return cleaned

    def children_rows(self) -> list[tuple[int, forms.BoundField, forms.BoundField]]:
        return [(n, self[f"child{n}_nik"], self[f"child{n}_name"]) for n in range(1, MAX_CHILDREN + 1)]

    @property
    def children_open(self) -> bool:
        """Keep the children section unfolded when something is typed or wrong in it."""
        return bool(self.dependant_errors) or any(
            self[f"child{n}_{part}"].value() for n in range(1, MAX_CHILDREN + 1) for part in ("nik", "name")
        )

    def add_service_errors(self, error: ValidationError) -> None:
        """Put the service's per-field messages next to the fields they are about."""
        for field, messages in error.message_dict.items():
            if field in ("nik", "name", "phone"):
                self.add_error(field, messages)
            elif field == "dependants":
                self.dependant_errors.extend(messages)
            else:
                self.add_error(None, messages)


class CheckoutForm(forms.Form):
    """Check-out without a remembered phone: the NIK and the name, as at check-in."""

    nik = _nik_field()
    name = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "words"}),
        error_messages={"required": _("Enter your full name as on your KTP.")},
    )

    def clean_nik(self) -> str:
        return nik_validate(self.cleaned_data["nik"])
