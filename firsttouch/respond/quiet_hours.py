"""When a text or a call may reach a person, by the law where they are.

The rule table is data: a calling window in the recipient's local time and,
for some states, a cap on attempts in 24 hours. Where the jurisdiction is
uncertain (the address says one state, the number another) every candidate
rule applies, so the stricter wins. Where the zone is uncertain (an area
code that spans two zones) the send must fall inside the window in each.
An explicit zone (from the form or the contact) wins over inferred ones.
Email has no quiet hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_timezone


@dataclass(frozen=True)
class CallingRule:
    """A window in local time (Sunday may differ) and an optional attempt cap."""

    jurisdiction: str
    start: time
    end: time
    sunday_start: time | None = None
    sunday_end: time | None = None
    max_attempts_24h: int | None = None
    citation: str = ""

    def window(self, weekday: int) -> tuple[time, time]:
        if weekday == 6 and self.sunday_start and self.sunday_end:
            return self.sunday_start, self.sunday_end
        return self.start, self.end


RULES: dict[str, CallingRule] = {
    rule.jurisdiction: rule
    for rule in (
        CallingRule("US", time(8), time(21), citation="47 CFR 64.1200(c)(1)"),
        CallingRule(
            "US-FL",
            time(8),
            time(20),
            max_attempts_24h=3,
            citation="Fla. Stat. 501.059(8)",
        ),
        CallingRule(
            "US-OK",
            time(8),
            time(20),
            max_attempts_24h=3,
            citation="Okla. Stat. tit. 15, 775C.4",
        ),
        CallingRule(
            "US-MD",
            time(8),
            time(20),
            max_attempts_24h=3,
            citation="Md. Com. Law 14-4501 (Stop the Spam Calls Act)",
        ),
        CallingRule("US-WA", time(8), time(20), citation="RCW 80.36.390"),
        CallingRule(
            "US-TX",
            time(9),
            time(21),
            time(12),
            time(21),
            citation="Tex. Bus. & Com. Code 301.051",
        ),
        # Outside the US no single rule applies; a conservative house default.
        CallingRule("INTL", time(8), time(21)),
    )
}

AREA_CODES = {
    "AL": "205 251 256 334 659 938",
    "AK": "907",
    "AZ": "480 520 602 623 928",
    "AR": "327 479 501 870",
    "CO": "303 719 720 970 983",
    "CT": "203 475 860 959",
    "CA": "209 213 279 310 323 341 350 408 415 424 442 510 530 559 562 619 626 628 "
    "650 657 661 669 707 714 747 760 805 818 820 831 840 858 909 916 925 949 951",
    "DE": "302",
    "DC": "202 771",
    "FL": "239 305 321 352 386 407 448 561 656 689 727 754 772 786 813 850 863 904 "
    "941 954",
    "GA": "229 404 470 478 678 706 762 770 912 943",
    "HI": "808",
    "ID": "208 986",
    "IL": "217 224 309 312 331 447 464 618 630 708 730 773 779 815 847 872",
    "IN": "219 260 317 463 574 765 812 930",
    "IA": "319 515 563 641 712",
    "KS": "316 620 785 913",
    "KY": "270 364 502 606 859",
    "LA": "225 318 337 504 985",
    "ME": "207",
    "MD": "227 240 301 410 443 667",
    "MA": "339 351 413 508 617 774 781 857 978",
    "MI": "231 248 269 313 517 586 616 679 734 810 906 947 989",
    "MN": "218 320 507 612 651 763 952",
    "MS": "228 601 662 769",
    "MO": "314 417 557 573 636 660 816 975",
    "MT": "406",
    "NE": "308 402 531",
    "NV": "702 725 775",
    "NH": "603",
    "NJ": "201 551 609 640 732 848 856 862 908 973",
    "NM": "505 575",
    "NY": "212 315 329 332 347 363 516 518 585 607 624 631 646 680 716 718 838 845 "
    "914 917 929 934",
    "NC": "252 336 472 704 743 828 910 919 980 984",
    "ND": "701",
    "OH": "216 220 234 283 326 330 380 419 436 440 513 567 614 740 937",
    "OK": "405 539 572 580 918",
    "OR": "458 503 541 971",
    "PA": "215 223 267 272 412 445 484 570 582 610 717 724 814 835 878",
    "RI": "401",
    "SC": "803 821 839 843 854 864",
    "SD": "605",
    "TN": "423 615 629 731 865 901 931",
    "TX": "210 214 254 281 325 346 361 409 430 432 469 512 682 713 726 737 806 817 "
    "830 832 903 915 936 940 945 956 972 979",
    "UT": "385 435 801",
    "VT": "802",
    "VA": "276 434 540 571 686 703 757 804 826 948",
    "WA": "206 253 360 425 509 564",
    "WV": "304 681",
    "WI": "262 274 414 534 608 715 920",
    "WY": "307",
}
STATE_BY_AREA_CODE = {
    code: state for state, codes in AREA_CODES.items() for code in codes.split()
}

EASTERN, CENTRAL = "America/New_York", "America/Chicago"
MOUNTAIN, PACIFIC = "America/Denver", "America/Los_Angeles"
ZONE_STATES = {
    EASTERN: "CT DE DC FL GA ME MD MA NH NJ NY NC OH PA RI SC VT VA WV KY",
    CENTRAL: "AL AR IL IA KS LA MN MS MO NE ND OK SD TN TX WI",
    MOUNTAIN: "CO MT NM UT WY",
    PACIFIC: "CA NV OR WA",
}
STATE_ZONES = {
    **{state: zone for zone, states in ZONE_STATES.items() for state in states.split()},
    # Arizona keeps standard time all year (no DST), except the Navajo Nation.
    "AZ": "America/Phoenix",
    "ID": "America/Boise",
    "IN": "America/Indiana/Indianapolis",
    "MI": "America/Detroit",
    "AK": "America/Anchorage",
    "HI": "Pacific/Honolulu",
}
# Area codes whose callers live in another zone than their state's main one,
# or in two zones at once.
AREA_CODE_ZONES = {
    "850": (EASTERN, CENTRAL),
    "915": (MOUNTAIN,),
    "270": (CENTRAL,),
    "423": (EASTERN,),
    "865": (EASTERN,),
    "219": (CENTRAL,),
    "812": (EASTERN, CENTRAL),
    "906": ("America/Detroit", "America/Menominee"),
    "208": ("America/Boise", PACIFIC),
    "308": (CENTRAL, MOUNTAIN),
    "605": (CENTRAL, MOUNTAIN),
    "701": (CENTRAL, MOUNTAIN),
}


@dataclass(frozen=True)
class Recipient:
    """Where a person is, as far as we know: explicit zone, state, number."""

    timezone: str | None = None
    country: str | None = None
    region: str | None = None
    phone_e164: str | None = None


@dataclass(frozen=True)
class Placement:
    """The zones a recipient may be in and the rules that bind a send to them."""

    zones: tuple[str, ...]
    rules: tuple[CallingRule, ...]
    zone_source: str


def _area_code(phone_e164: str | None) -> str | None:
    if phone_e164 and phone_e164.startswith("+1") and len(phone_e164) == 12:
        return phone_e164[2:5]
    return None


def _phone_zones(phone_e164: str) -> tuple[str, ...]:
    try:
        parsed = phonenumbers.parse(phone_e164)
    except phonenumbers.NumberParseException:
        return ()
    zones = phone_timezone.time_zones_for_number(parsed)
    return tuple(z for z in zones if z != "Etc/Unknown")


def place_recipient(recipient: Recipient, fallback_zone: str) -> Placement:
    """Return the zones and calling rules that apply to ``recipient``."""
    region = (recipient.region or "").upper()
    address_state = region if region in STATE_ZONES else None
    code = _area_code(recipient.phone_e164)
    phone_state = STATE_BY_AREA_CODE.get(code or "")

    states = {s for s in (address_state, phone_state) if s}
    us = bool(states) or (recipient.country or "").upper() == "US"
    rules = [RULES["US" if us else "INTL"]]
    rules += [RULES[f"US-{s}"] for s in sorted(states) if f"US-{s}" in RULES]

    zones: tuple[str, ...]
    if recipient.timezone:
        zones, source = (recipient.timezone,), "explicit"
    elif address_state:
        zones, source = (STATE_ZONES[address_state],), "address"
    elif code and code in AREA_CODE_ZONES:
        zones, source = AREA_CODE_ZONES[code], "area_code"
    elif phone_state:
        zones, source = (STATE_ZONES[phone_state],), "area_code"
    elif recipient.phone_e164 and _phone_zones(recipient.phone_e164):
        zones, source = _phone_zones(recipient.phone_e164), "phone_prefix"
    else:
        zones, source = (fallback_zone,), "team"
    return Placement(zones, tuple(rules), source)


def _next_open(moment: datetime, zone: str, rule: CallingRule) -> datetime:
    # The first instant at or after ``moment`` inside the rule's window there.
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    for offset in range(0, 8):
        day = local.date() + timedelta(days=offset)
        start, end = rule.window(day.weekday())
        opens = datetime.combine(day, start, tzinfo=tz)
        closes = datetime.combine(day, end, tzinfo=tz)
        if moment < closes:
            return max(moment, opens)
    raise ValueError(f"rule {rule.jurisdiction} has no open window in a week")


def next_allowed(moment: datetime, placement: Placement) -> datetime:
    """Return the first instant at or after ``moment`` every rule allows."""
    candidate = moment
    for _ in range(20):
        later = max(
            _next_open(candidate, zone, rule)
            for zone in placement.zones
            for rule in placement.rules
        )
        if later == candidate:
            return candidate.astimezone(UTC)
        candidate = later
    raise ValueError("no moment satisfies every calling window of this recipient")


def attempt_cap(placement: Placement) -> int | None:
    """Return the strictest attempts-per-24-hours cap that applies, if any."""
    caps = [r.max_attempts_24h for r in placement.rules if r.max_attempts_24h]
    return min(caps) if caps else None


def describe(placement: Placement) -> str:
    """Name the rules in force, for a deferral's recorded reason."""
    return "+".join(r.jurisdiction for r in placement.rules)
