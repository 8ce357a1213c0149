"""The one thing reports stores: the health advice Satgas writes into every exposure notice (edited in admin)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ExposureAdvice(models.Model):
    """A single row (pk 1): the text of exposure notices, with {date}, {office}, {from} and {until} filled in.

    Empty table: the built-in text (reports.notices.ADVICE_DEFAULT) is used.
    """

    text = models.TextField(
        _("notice text"),
        help_text=_(
            "What an exposed contact reads (WhatsApp/SMS and their phone's check-in page). {date}, {office}, {from} "
            "and {until} are replaced by the day, the office and the time window they shared. Never name the case."
        ),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("exposure notice text")
        verbose_name_plural = _("exposure notice text")

    def __str__(self) -> str:
        return str(_("Exposure notice text"))

    def save(self, *args, **kwargs) -> None:
        self.pk = 1  # a singleton: every edit is of the one row
        super().save(*args, **kwargs)
