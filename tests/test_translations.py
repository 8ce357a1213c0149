"""The Indonesian catalogue (locale/id): complete, compiled, placeholder-safe, and actually used by the pages.

When this fails after adding strings: run `make messages`, translate the entries with an empty msgstr in
locale/id/LC_MESSAGES/django.po, then run `make messages` again (it recompiles the committed django.mo).
"""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from tests.conftest import require

LC_MESSAGES = Path(settings.BASE_DIR) / "locale" / "id" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"
HOW_TO_FIX = "run `make messages`, translate the empty msgstr entries in locale/id/LC_MESSAGES/django.po, run it again"


@dataclass
class Entry:
    msgid: str | None = None  # None until the block's msgid line (obsolete-only blocks keep it None)
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # plain msgstr is index 0
    flags: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return repr(self.msgid[:70])


def parse_po(path: Path) -> list[Entry]:
    """A tiny .po reader, enough for what makemessages writes; obsolete (#~) entries are left out."""
    entries: list[Entry] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        entry, target = Entry(), None
        for raw in block.splitlines():
            line = raw.strip()
            if line.startswith("#,"):
                entry.flags.update(flag.strip() for flag in line[2:].split(","))
                continue
            if not line or line.startswith("#"):  # comments, previous msgids (#|) and obsolete entries (#~)
                continue
            if line.startswith('"'):
                assert target is not None, f"{path}: continuation line without a keyword: {raw!r}"
                value = ast.literal_eval(line)
            else:
                keyword, _sep, rest = line.partition(" ")
                value = ast.literal_eval(rest)
                plural_form = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
                if keyword in ("msgctxt", "msgid", "msgid_plural", "msgstr"):
                    target = (keyword, 0)
                elif plural_form:
                    target = ("msgstr", int(plural_form.group(1)))
                else:
                    raise ValueError(f"{path}: cannot read line {raw!r}")
                if keyword == "msgid":
                    entry.msgid = ""
                elif keyword == "msgid_plural":
                    entry.msgid_plural = ""
                elif target[0] == "msgstr":
                    entry.msgstr[target[1]] = ""
            kind, index = target
            if kind == "msgid":
                entry.msgid = (entry.msgid or "") + value
            elif kind == "msgid_plural":
                entry.msgid_plural = (entry.msgid_plural or "") + value
            elif kind == "msgstr":
                entry.msgstr[index] += value
        if entry.msgid is not None:
            entries.append(entry)
    return entries


def header(entries: list[Entry]) -> dict[str, str]:
    (first,) = [e for e in entries if e.msgid == ""]
    return dict(line.split(": ", 1) for line in first.msgstr[0].splitlines() if ": " in line)


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    assert PO.exists(), f"{PO} is missing: {HOW_TO_FIX}"
    return parse_po(PO)


@pytest.fixture(scope="module")
def messages(entries) -> list[Entry]:
    return [e for e in entries if e.msgid != ""]


# --- (a) complete -----------------------------------------------------------------------------------------------


def test_header_is_indonesian_utf8_with_one_plural_form(entries):
    meta = header(entries)
    assert meta["Language"] == "id"
    assert "charset=UTF-8" in meta["Content-Type"]
    assert meta["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"
    assert meta["Project-Id-Version"].startswith("Denpasar Check-in")


def test_the_catalogue_is_not_empty(messages):
    assert len(messages) > 100


def test_every_entry_is_translated(messages):
    untranslated = [e.label for e in messages if not e.msgstr or any(not s for s in e.msgstr.values())]
    assert not untranslated, f"{len(untranslated)} untranslated: {untranslated}; {HOW_TO_FIX}"


def test_no_entry_is_fuzzy(entries):
    fuzzy = [e.label for e in entries if "fuzzy" in e.flags]
    assert not fuzzy, f"fuzzy entries are not compiled (English is shown): {fuzzy}; {HOW_TO_FIX}"


def test_plural_entries_have_exactly_one_form(messages):
    wrong = [e.label for e in messages if e.msgid_plural is not None and sorted(e.msgstr) != [0]]
    assert not wrong, f"Indonesian has one plural form: give msgstr[0] only: {wrong}"


def test_msgfmt_accepts_the_catalogue():
    msgfmt = shutil.which("msgfmt")
    require(bool(msgfmt), "needs Debian's gettext (apt-get install gettext) for msgfmt")
    result = subprocess.run(
        [msgfmt, "--check", "--statistics", "-o", "/dev/null", str(PO)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr


# --- (b) the committed .mo matches the .po -------------------------------------------------------------------------


def load_catalog(path: Path) -> dict:
    with path.open("rb") as handle:
        return gettext.GNUTranslations(handle)._catalog


def test_committed_mo_is_compiled_from_the_current_po(tmp_path):
    msgfmt = shutil.which("msgfmt")
    require(bool(msgfmt), "needs Debian's gettext (apt-get install gettext) for msgfmt")
    assert MO.exists(), f"{MO} is missing: run `make messages` and commit django.mo"
    fresh = tmp_path / "django.mo"
    subprocess.run([msgfmt, "--check-format", "-o", str(fresh), str(PO)], check=True)
    committed, expected = load_catalog(MO), load_catalog(fresh)
    stale = sorted(str(key) for key in committed.keys() ^ expected.keys())[:10]
    changed = sorted(str(key) for key in committed.keys() & expected.keys() if committed[key] != expected[key])[:10]
    assert committed == expected, f"django.mo is stale (run `make messages`): added/removed {stale}, changed {changed}"


# --- (c) the pages really speak Indonesian -----------------------------------------------------------------------

KEY_STRINGS = {
    "Please wait outside, keep your distance and wear a mask: the officer at the door will call you.": (
        "Silakan tunggu di luar, jaga jarak, dan pakai masker: petugas di pintu akan memanggil Anda."
    ),
    "Welcome. You may enter.": "Selamat datang. Silakan masuk.",
    "I agree that my data is used as described above.": (
        "Saya setuju data saya digunakan sebagaimana dijelaskan di atas."
    ),
    "NIK is required.": "NIK wajib diisi.",
}


@pytest.mark.parametrize("english", list(KEY_STRINGS))
def test_key_strings_come_out_in_indonesian(english):
    with translation.override("id"):
        indonesian = str(_(english))
    assert indonesian != english
    assert indonesian == KEY_STRINGS[english]
    with translation.override("en"):
        assert str(_(english)) == english


def test_default_language_is_indonesian():
    assert settings.LANGUAGE_CODE == "id"
    with translation.override(settings.LANGUAGE_CODE):
        assert (
            translation.ngettext("%(n)s child checked in with you.", "%(n)s children checked in with you.", 3)
            % {"n": 3}
            == "3 anak check-in bersama Anda."
        )


@pytest.mark.django_db
def test_entrance_page_is_indonesian_by_default_and_english_on_request(client):
    from tests.factories import EntranceFactory

    entrance = EntranceFactory()
    default = client.get(f"/c/{entrance.code}/").content.decode()
    assert 'lang="id"' in default
    assert "Saya setuju" in default
    assert "Data Anda" in default and "Ingat ponsel ini" in default
    assert "I agree that my data" not in default

    english = client.get(f"/c/{entrance.code}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in english
    assert "I agree that my data is used as described above." in english
    assert "Saya setuju" not in english


# --- (d) placeholders survive translation --------------------------------------------------------------------------

PYTHON_FORMAT = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?P<type>[diouxXeEfFgGcrsa%])"
)
BRACE_FORMAT = re.compile(r"(?<!\{)\{([^{}]*)\}(?!\})")


def python_placeholders(text: str) -> Counter:
    return Counter(f"%({m['name']}){m['type']}" if m["name"] else f"%{m['type']}" for m in PYTHON_FORMAT.finditer(text))


def brace_placeholders(text: str) -> Counter:
    return Counter(BRACE_FORMAT.findall(text))


@pytest.mark.parametrize(
    "flag, placeholders", [("python-format", python_placeholders), ("python-brace-format", brace_placeholders)]
)
def test_translations_keep_their_placeholders(messages, flag, placeholders):
    wrong = []
    for entry in messages:
        if flag not in entry.flags:
            continue
        if entry.msgid_plural is None:
            expected = set(placeholders(entry.msgid))
        else:  # the single Indonesian form must work for every count, so it needs the plural's placeholders
            expected = set(placeholders(entry.msgid)) | set(placeholders(entry.msgid_plural))
        for form in entry.msgstr.values():
            if form and set(placeholders(form)) != expected:  # empty ones: test_every_entry_is_translated
                wrong.append(f"{entry.label}: expected {sorted(expected)}, got {sorted(placeholders(form))}")
    assert not wrong, "\n".join(wrong)


NAMED = re.compile(r"%\((\w+)\)")


def test_unflagged_entries_gain_no_named_placeholders(messages):
    """A `%(name)s` that the English does not have would show literally or crash at runtime (KeyError)."""
    wrong = [
        e.label
        for e in messages
        if "python-format" not in e.flags
        and any(set(NAMED.findall(s)) - set(NAMED.findall(e.msgid + (e.msgid_plural or ""))) for s in e.msgstr.values())
    ]
    assert not wrong, wrong
