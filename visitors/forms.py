"""The phone page's forms: they check the shape of what the visitor typed; the check-in service judges the rest."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms.boundfield import BoundField
from django.utils.translation import gettext_lazy as _

from denpasar_checkin.nik import nik_validate

# The page offers three children; the service accepts a few more (the officer's form may need them).
MAX_CHILDREN = 3
# Room for a NIK typed with spaces or dots ("5171 0101 9000 0001"); nik_validate removes them.
NIK_INPUT_MAX_LENGTH = 20
# The id of the children section's own errors (the service's "Child 2: ..."), which the children's fields name.
DEPENDANTS_ERROR_ID = "id_dependants_error"


class TelInput(forms.TextInput):
    input_type = "tel"


class PageBoundField(BoundField):
    """A field of a phone form that, when the page comes back with errors, takes the focus if it is the first
    wrong one: server-side `autofocus`, so it works without JavaScript and a screen reader starts at the error."""

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        if self.form.is_bound and self.name == self.form.first_invalid:
            attrs["autofocus"] = True
        return attrs

    @property
    def aria_describedby(self):
        # Django names `<auto_id>_error` for a field's own errors; the template gives that id to their container.
        ids = [super().aria_describedby or "", *self.form.described_by(self.name)]
        return " ".join(i for i in ids if i) or None


class PageForm(forms.Form):
    """A form of the phone pages: errors are named by the fields they are about, and the first takes the focus."""

    bound_field_class = PageBoundField

    def page_order(self) -> list[str]:
        """The fields in the order the page shows them (the focus goes to the first wrong one on screen)."""
        return list(self.fields)

    def described_by(self, name: str) -> list[str]:
        """Ids of further error texts about this field, beyond its own."""
        return []

    @property
    def first_invalid(self) -> str | None:
        if not self.is_bound:
            return None
        return next((name for name in self.page_order() if self.errors.get(name)), None)


def _nik_input() -> forms.TextInput:
    # No autocomplete: on a shared phone the next person must not be offered someone else's NIK. The digits
    # pattern brings up the number pad on older iPhones that ignore inputmode; the form is novalidate and the
    # server strips the spaces and dots some people type, so the pattern never blocks a submission.
    return forms.TextInput(
        attrs={
            "inputmode": "numeric",
            "pattern": "[0-9]*",
            "autocomplete": "off",
            "autocapitalize": "off",
            "spellcheck": "false",
        }
    )


def _nik_field(*, required: bool = True) -> forms.CharField:
    return forms.CharField(
        max_length=NIK_INPUT_MAX_LENGTH,
        required=required,
        widget=_nik_input(),
        error_messages={"required": _("NIK is required.")},
    )


def _name_field() -> forms.CharField:
    return forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name", "autocapitalize": "words", "spellcheck": "false"}),
        error_messages={"required": _("Enter your full name as on your KTP.")},
    )


def _child_name_field() -> forms.CharField:
    # autocomplete="name" would offer the parent's own name here, so the browser is told to stay out.
    return forms.CharField(
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "words", "spellcheck": "false"}),
    )


class CheckinForm(PageForm):
    """First visit: NIK, name, optional phone and children, 'remember this phone', and consent."""

    nik = _nik_field()
    name = _name_field()
    phone = forms.CharField(
        max_length=20, required=False, widget=TelInput(attrs={"inputmode": "tel", "autocomplete": "tel"})
    )
    # Off until the visitor asks: a phone left remembered by default would check the next person in as this one.
    remember = forms.BooleanField(required=False, initial=False)
    consent = forms.BooleanField(
        error_messages={"required": _("Please tick the box to agree, or you cannot check in.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for n in range(1, MAX_CHILDREN + 1):
            self.fields[f"child{n}_nik"] = _nik_field(required=False)
            self.fields[f"child{n}_name"] = _child_name_field()
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

    def _child_fields(self) -> list[str]:
        return [f"child{n}_{part}" for n in range(1, MAX_CHILDREN + 1) for part in ("nik", "name")]

    def page_order(self) -> list[str]:
        return ["nik", "name", "phone", *self._child_fields(), "remember", "consent"]

    def described_by(self, name: str) -> list[str]:
        if self.dependant_errors and name in self._child_fields():
            return [DEPENDANTS_ERROR_ID]
        return []

    @property
    def first_invalid(self) -> str | None:
        first = super().first_invalid
        # The children section's own errors come before the fields below it; its first field leads to them.
        if self.dependant_errors and first in (None, "remember", "consent"):
            return "child1_nik"
        return first

    @property
    def dependants_error_id(self) -> str:
        return DEPENDANTS_ERROR_ID

    def children_rows(self) -> list[tuple[int, forms.BoundField, forms.BoundField]]:
        return [(n, self[f"child{n}_nik"], self[f"child{n}_name"]) for n in range(1, MAX_CHILDREN + 1)]

    @property
    def children_open(self) -> bool:
        """Keep the children section unfolded when something is typed or wrong in it."""
        return bool(self.dependant_errors) or any(self[name].value() for name in self._child_fields())

    @property
    def has_errors(self) -> bool:
        return bool(self.is_bound and (self.errors or self.dependant_errors))

    def add_service_errors(self, error: ValidationError) -> None:
        """Put the service's per-field messages next to the fields they are about."""
        for field, messages in error.message_dict.items():
            if field in ("nik", "name", "phone"):
                self.add_error(field, messages)
            elif field == "dependants":
                self.dependant_errors.extend(messages)
            else:
                self.add_error(None, messages)


class CheckoutForm(PageForm):
    """Check-out without a remembered phone: the NIK and the name, as at check-in."""

    nik = _nik_field()
    name = _name_field()

    def clean_nik(self) -> str:
        return nik_validate(self.cleaned_data["nik"])

    @property
    def has_errors(self) -> bool:
        return bool(self.is_bound and self.errors)
