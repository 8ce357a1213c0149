"""The benchmark's population: person i's NIK, name and health colour, computed the same way here and in Lua.

bench/lua/common.lua repeats nik_for() and name_for() so wrk can pick person i at random without a data file;
the name lists travel to Lua in the generated config, and the checks after each run fail if the server ever
created a Person (which it would for a NIK or name the loader never wrote).
"""

from __future__ import annotations

import datetime

PEOPLE = 100_000

# Balinese birth-order names and family names: enough variety for realistic name matching, repeats allowed.
FIRST_NAMES = (
    "I Made", "Ni Luh", "I Wayan", "Ni Made", "I Nyoman", "Ni Nyoman", "I Ketut", "Ni Ketut",
    "I Gusti Ngurah", "Anak Agung", "Putu", "Kadek", "Komang", "Gede", "Dewa Ayu", "Desak",
)  # fmt: skip
FAMILY_NAMES = (
    "Sudirta", "Wirawan", "Suartini", "Arsana", "Widiastuti", "Mahendra", "Pradnyani", "Sukadana",
    "Astawa", "Darmayanti", "Suweca", "Kusumawati", "Parwata", "Yuliastini", "Budiarta", "Sanjaya",
)  # fmt: skip

# Colour by i % 100: mostly green, then the rest of the table; "unknown" has no registry row at all and
# "mismatch" has a registry row under another name (so the lookup must say unknown).
COLOUR_BANDS = (
    (70, "green"),
    (78, "yellow"),
    (84, "red"),
    (87, "black"),
    (94, "unknown"),
    (100, "mismatch"),
)


def nik_for(i: int) -> str:
    """A valid, unique Denpasar NIK (51 71 01) for person i, 0 <= i < 9999 * 28."""
    serial = i % 9999 + 1
    block = i // 9999
    day = block % 28 + 1 + (40 if i % 2 else 0)
    month = (i // 7) % 12 + 1
    year = 60 + i % 40
    return f"517101{day:02d}{month:02d}{year % 100:02d}{serial:04d}"


def name_for(i: int) -> str:
    return f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {FAMILY_NAMES[(i // len(FIRST_NAMES)) % len(FAMILY_NAMES)]}"


def phone_for(i: int) -> str:
    return f"0812{i:08d}"


def colour_for(i: int) -> str:
    band = i % 100
    for upper, colour in COLOUR_BANDS:
        if band < upper:
            return colour
    raise AssertionError("unreachable")


def registry_row_for(i: int, *, today: datetime.date) -> dict | None:
    """The health-registry fields of person i (None: not in the registry)."""
    colour = colour_for(i)
    if colour == "unknown":
        return None
    row = {
        "name": name_for(i),
        "doses": 2 + i % 2,
        "last_dose_on": today - datetime.timedelta(days=30 + i % 200),
        "case_status": "none",
        "case_reported_on": None,
        "isolated_until": None,
        "exemption_until": None,
    }
    if colour == "yellow":
        row["doses"] = 1
    elif colour == "red":
        row.update(doses=0, last_dose_on=None)
    elif colour == "black":
        row.update(
            case_status="positive" if i % 2 else "close_contact",
            case_reported_on=today - datetime.timedelta(days=2),
            isolated_until=today + datetime.timedelta(days=8),
        )
    elif colour == "mismatch":
        row["name"] = "Nama Tidak Cocok"
    return row
