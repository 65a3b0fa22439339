"""A week of inbound: each lead becomes a person, a moment and a channel.

The lead data set says where a lead came from and how keen it was; it does
not say who the person is or when they wrote. The demo fills those gaps with
seeded choices, so the same seed always gives the same week: names and
companies from fixed lists, arrival times weighted towards working hours in
the buyer's own zone (with evenings, nights and a weekend in the mix), and a
channel that follows the data set's lead source. A few events that only a
live team sees are added on top: a provider retrying a form post, a buyer
writing again on another channel, a missed call followed by its voicemail,
and an SMS STOP.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from firsttouch.capture.events import InboundEvent, PersonFacts
from firsttouch.capture.forms import form_to_event, submission_digest
from firsttouch.demo import wire
from firsttouch.demo.profiles import LeadProfile
from firsttouch.workspace import Workspace

WEEK_START = datetime(2026, 3, 9, tzinfo=UTC)  # a Monday
WEEK = timedelta(days=7)

_FIRST = [
    "Amara",
    "Ben",
    "Chloe",
    "Darius",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kavya",
    "Liam",
    "Mei",
    "Nora",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wen",
    "Yusuf",
    "Zoe",
]
_LAST = [
    "Adeyemi",
    "Brennan",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Gupta",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "O'Neill",
    "Patel",
    "Quispe",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Varga",
    "Walsh",
    "Xu",
    "Young",
    "Zimmer",
]

# Invented companies: (name, domain, industry, employees). The .example
# domains never resolve, so no enrichment ever leaves the machine.
_COMPANIES = [
    ("Brightwave Analytics", "brightwave.example", "software", 240),
    ("Cobalt Freight", "cobaltfreight.example", "logistics", 1300),
    ("Delta Dental Group", "deltadentalgroup.example", "healthcare", 620),
    ("Evergreen Outfitters", "evergreenoutfitters.example", "e-commerce", 180),
    ("Fernhill Consulting", "fernhill.example", "professional services", 85),
    ("Granite Works", "graniteworks.example", "manufacturing", 950),
    ("Harbor Health Clinics", "harborhealth.example", "healthcare", 410),
    ("Ionic Cloud", "ioniccloud.example", "saas", 130),
    ("Juniper Legal", "juniperlegal.example", "legal services", 60),
    ("Kestrel Retail", "kestrelretail.example", "retail", 3400),
    ("Lumen Robotics", "lumenrobotics.example", "manufacturing", 75),
    ("Meridian Accounting", "meridianacct.example", "accounting", 150),
    ("Northstar Media", "northstarmedia.example", "media", 30),
    ("Orchid Labs", "orchidlabs.example", "software", 12),
    ("Pinecone Supply", "pineconesupply.example", "wholesale", 520),
]
_SMALL_FIRMS = [
    ("Wright & Daughters", "wrightdaughters.example", "professional services", 8),
    ("Tiny Tiger Studio", "tinytiger.example", "media", 4),
]
_FREE_MAIL = ["gmail.com", "outlook.com", "yahoo.com"]

_FINANCE_TITLES = [
    "VP Finance",
    "Controller",
    "CFO",
    "Director of Finance",
    "Accounts Payable Manager",
    "Head of Finance Operations",
    "Finance Manager",
    "Director of Operations",
]

# Where buyers sit: (country, region, zone, phone prefix, weight). Mostly the
# team's own markets, a share from places it serves less well.
_PLACES = [
    ("US", "NY", "America/New_York", "+1212555", 18),
    ("US", "MA", "America/New_York", "+1617555", 8),
    ("US", "IL", "America/Chicago", "+1312555", 10),
    ("US", "CO", "America/Denver", "+1303555", 5),
    ("US", "CA", "America/Los_Angeles", "+1415555", 14),
    ("US", "WA", "America/Los_Angeles", "+1206555", 5),
    ("CA", "ON", "America/Toronto", "+1416555", 6),
    ("GB", None, "Europe/London", "+44740012", 12),
    ("IE", None, "Europe/Dublin", "+35385012", 3),
    ("DE", None, "Europe/Berlin", "+4930555", 5),
    ("NL", None, "Europe/Amsterdam", "+3120555", 3),
    ("IN", None, "Asia/Kolkata", "+91812345", 8),
    ("AE", None, "Asia/Dubai", "+9714555", 3),
]

# Relative arrival weight by local hour and by weekday (Monday first):
# busy in working hours, a real evening tail, a little at night.
_HOUR_WEIGHT = [
    1,
    1,
    1,
    1,
    1,
    2,
    3,
    5,
    8,
    10,
    10,
    10,
    9,
    10,
    10,
    9,
    8,
    7,
    6,
    6,
    5,
    4,
    3,
    2,
]
_DAY_WEIGHT = [12, 11, 10, 10, 8, 4, 3]

_INTENT_MESSAGES = {
    "high": [
        "We need to replace our accounts payable process this quarter. "
        "Can we get a demo and pricing?",
        "Invoice volume doubled; looking for AP automation asap. "
        "Could someone walk us through it?",
        "Evaluating tools to replace manual invoice approval before our audit. "
        "Pricing please.",
    ],
    "medium": [
        "Could you send more information about how approvals work?",
        "Interested in how you handle multi-entity invoices.",
        "What does onboarding look like for a team like ours?",
    ],
    "low": [
        "Just browsing, what is this?",
        "Do you have a newsletter?",
        "Saw your ad, curious.",
    ],
}


@dataclass
class Arrival:
    """One event the replay delivers at ``at``, and the lead it belongs to."""

    at: datetime
    event: InboundEvent
    profile: LeadProfile | None
    note: str = ""
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class Persona:
    first_name: str
    last_name: str
    email: str
    phone: str
    title: str | None
    company: str | None
    employees: int | None
    industry: str | None
    website: str | None
    country: str
    region: str | None
    zone: str


def _intent(profile: LeadProfile) -> str:
    if profile.engagement_seconds >= 900:
        return "high"
    if profile.engagement_seconds >= 250:
        return "medium"
    return "low"


def _persona(profile: LeadProfile, rng: random.Random, index: int) -> Persona:
    """Turn a data-set row into a person; the occupation decides the kind of buyer."""
    country, region, zone, prefix, _ = rng.choices(
        _PLACES, weights=[p[4] for p in _PLACES]
    )[0]
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    local = f"{first}.{last}".lower().replace("'", "") + (
        str(index) if index % 3 else ""
    )
    phone = f"{prefix}{index % 10000:04d}"
    occupation = profile.occupation.lower()

    def at_company(company: tuple[str, str, str, int], title: str | None) -> Persona:
        name, domain, industry, employees = company
        return Persona(first, last, f"{local}@{domain}", phone, title, name,
                       employees, industry, f"https://{domain}", country, region,
                       zone)  # fmt: skip

    def personal(mail_domain: str, title: str | None) -> Persona:
        return Persona(first, last, f"{local}@{mail_domain}", phone, title, None,
                       None, None, None, country, region, zone)  # fmt: skip

    # The draws happen in a fixed order, so a seed always makes the same week.
    if occupation == "working professional":
        company = rng.choice(_COMPANIES)
        return at_company(company, rng.choice(_FINANCE_TITLES))
    if occupation == "businessman":
        return at_company(rng.choice(_SMALL_FIRMS), "Owner")
    if occupation == "student":
        return personal(rng.choice(_FREE_MAIL), "Student")
    if occupation == "unemployed":
        mail = rng.choice(_FREE_MAIL)
        return personal(mail, rng.choice(["Finance Analyst", "Bookkeeper", None]))
    # Unanswered or other occupations: half write from a company address.
    if rng.random() < 0.5:
        return at_company(rng.choice(_COMPANIES), None)
    return personal(rng.choice(_FREE_MAIL), None)


def _arrival_time(rng: random.Random, zone: str) -> datetime:
    """A moment inside the demo week, drawn by the buyer's local hour and day."""
    tz = ZoneInfo(zone)
    local_start = WEEK_START.astimezone(tz).replace(hour=0, minute=0, second=0)
    while True:
        day = rng.choices(range(7), weights=_DAY_WEIGHT)[0]
        hour = rng.choices(range(24), weights=_HOUR_WEIGHT)[0]
        local = (local_start + timedelta(days=day)).replace(
            hour=hour, minute=rng.randrange(60), second=rng.randrange(60)
        )
        at = local.astimezone(UTC)
        if WEEK_START <= at < WEEK_START + WEEK:
            return at


def _channel(profile: LeadProfile, rng: random.Random) -> str:
    """Follow the data set's source; spread plain web traffic over live channels."""
    source = profile.source.lower()
    if "chat" in source:
        return "chat"
    if (
        source in ("facebook",)
        or profile.origin == "Lead Add Form"
        and source != "reference"
    ):
        return "lead_ad"
    if source in ("reference", "referral sites"):
        return "referral"
    if "click2call" in source:
        return "call"
    roll = rng.random()
    if roll < 0.12:
        return "email"
    if roll < 0.20:
        return "sms"
    if roll < 0.26:
        return "call"
    if roll < 0.31:
        return "meeting"
    return "web_form"


def _annotate(event: InboundEvent, profile: LeadProfile) -> InboundEvent:
    """Mark which data-set row an event stands for (the report reads it back)."""
    fields = {
        **event.fields,
        "dataset_row": profile.row_id,
        "dataset_source": profile.source,
    }
    return event.model_copy(update={"fields": fields})


def _utm(profile: LeadProfile) -> dict[str, str]:
    source = profile.source.lower()
    return {
        "utm_source": source.replace(" ", "_") or "unknown",
        "utm_medium": "organic"
        if "organic" in source
        else "cpc"
        if source in ("google", "facebook", "bing")
        else "referral",
    }


def _web_form(
    person: Persona,
    profile: LeadProfile,
    message: str,
    at: datetime,
    workspace: Workspace,
) -> InboundEvent:
    form_key = "pricing" if "pricing" in message.lower() else "demo-request"
    data = {
        "First Name": person.first_name,
        "Last Name": person.last_name,
        "Email": person.email,
        "Phone": person.phone,
        "Company": person.company or "",
        "Job Title": person.title or "",
        "Country": person.country,
        "State": person.region or "",
        "Message": message,
        **_utm(profile),
    }
    if person.employees:
        data["Employees"] = str(person.employees)
    data = {k: v for k, v in data.items() if v}
    digest = submission_digest(form_key, data, "demo")
    bucket = int(at.timestamp() // 30)
    return form_to_event(
        form_key,
        workspace.forms[form_key],
        data,
        default_region=workspace.routing.default_region,
        raw=json.dumps(data),
        dedupe_key=f"form:{digest}:{bucket}",
    )


def _event(
    channel: str,
    person: Persona,
    profile: LeadProfile,
    message: str,
    at: datetime,
    index: int,
    workspace: Workspace,
) -> InboundEvent:
    """The event each channel's real adapter produces for this lead's payload."""
    name = f"{person.first_name} {person.last_name}"
    if channel == "web_form":
        event = _web_form(person, profile, message, at, workspace)
    elif channel == "email":
        event = wire.email(
            f"<demo-{index}@{person.email.split('@')[1]}>",
            person.email,
            name,
            "Question about Northwind Ledger",
            message,
            at,
        )
    elif channel == "sms":
        event = wire.twilio_sms(
            f"SM{index:032d}", person.phone, message, person.country
        )
    elif channel == "call":
        event = wire.twilio_missed_call(f"CA{index:032d}", person.phone, person.country)
    elif channel == "chat":
        visitor = {"email": person.email, "name": name, "company": person.company or ""}
        event = wire.generic_chat(
            f"chat-{index}",
            at,
            {k: v for k, v in visitor.items() if v},
            message,
            _utm(profile),
        )
    elif channel == "lead_ad":
        event = wire.meta_lead(
            str(900000 + index),
            at,
            {
                "full_name": name,
                "email": person.email,
                "phone_number": person.phone,
                "company_name": person.company or "",
                "job_title": person.title or "",
                "country": person.country,
                "what_would_you_like_to_improve": message,
            },
        )
    elif channel == "meeting":
        start = at + timedelta(days=2)
        event = wire.calcom_booking(
            f"demo-booking-{index}", at, start, name, person.email, person.zone, message
        )
    else:
        event = InboundEvent(
            dedupe_key=f"referral:demo:{index}",
            channel="referral",
            kind="referral",
            source="referral",
            provider="api",
            occurred_at=at,
            person=_facts(person),
            body_text=message,
            fields={"referred_by": "a customer"},
        )
    return _annotate(event, profile)


def _facts(person: Persona) -> PersonFacts:
    return PersonFacts(
        email=person.email,
        phone=person.phone,
        first_name=person.first_name,
        last_name=person.last_name,
        title=person.title,
        company=person.company,
        website=person.website,
        country=person.country,
        region=person.region,
        timezone=person.zone,
        employees=person.employees,
        industry=person.industry,
    )


def build_week(
    profiles: list[LeadProfile], seed: int, workspace: Workspace
) -> list[Arrival]:
    """Every arrival of the demo week, in time order."""
    rng = random.Random(seed)
    arrivals: list[Arrival] = []
    sms_leads: list[Arrival] = []
    for index, profile in enumerate(profiles):
        person = _persona(profile, rng, index)
        at = _arrival_time(rng, person.zone)
        channel = _channel(profile, rng)
        message = rng.choice(_INTENT_MESSAGES[_intent(profile)])
        arrival = Arrival(
            at, _event(channel, person, profile, message, at, index, workspace), profile
        )
        arrivals.append(arrival)
        if channel == "sms":
            sms_leads.append(arrival)
        arrivals.extend(_live_extras(arrival, person, profile, rng, index))

    if not sms_leads:
        sms_leads.append(_switch_to_sms(arrivals))
    arrivals.append(_stop_message(sms_leads[len(sms_leads) // 2]))
    arrivals.sort(key=lambda item: (item.at, item.event.dedupe_key))
    return arrivals


def _live_extras(
    arrival: Arrival,
    person: Persona,
    profile: LeadProfile,
    rng: random.Random,
    index: int,
) -> list[Arrival]:
    """Events a live inbox sees around a lead: retries, voicemail, a second channel."""
    event = arrival.event
    extras = []
    if event.kind == "missed_call" and event.provider_event_id:
        voicemail = wire.twilio_voicemail(
            event.provider_event_id, f"RE{index:032d}", person.phone
        )
        extras.append(
            Arrival(
                arrival.at + timedelta(seconds=70),
                _annotate(voicemail, profile),
                profile,
                note="voicemail after a missed call",
            )
        )
    if event.channel == "web_form" and rng.random() < 0.05:
        extras.append(
            Arrival(
                arrival.at + timedelta(seconds=3),
                event,
                profile,
                note="the form provider retried the same post",
            )
        )
    if event.channel in ("web_form", "lead_ad") and rng.random() < 0.04:
        later = arrival.at + timedelta(hours=2)
        follow = wire.email(
            f"<demo-again-{index}@mail.example>",
            person.email,
            f"{person.first_name} {person.last_name}",
            "Following up on my request",
            "Just checking you got my form.",
            later,
        )
        extras.append(
            Arrival(
                later,
                _annotate(follow, profile),
                profile,
                note="the same buyer writes again on another channel",
            )
        )
    return extras


def _switch_to_sms(arrivals: list[Arrival]) -> Arrival:
    """A small week may hold no texter; one lead texts instead of writing.

    The week must show consent at work (the STOP), whatever its size. A lead
    with no retry or voicemail hanging on it is chosen, so nothing is orphaned.
    """
    leads = [i for i, a in enumerate(arrivals) if a.profile is not None and not a.note]
    position = next(
        (
            i
            for i in leads
            if arrivals[i].event.channel
            in ("chat", "referral", "meeting", "email", "lead_ad")
        ),
        leads[0],
    )
    arrival = arrivals[position]
    phone = arrival.event.person.phone or f"+1212555{position:04d}"
    sms = wire.twilio_sms(
        f"SM{position:032d}",
        phone,
        arrival.event.body_text or "Hi",
        arrival.event.person.country or "US",
    )
    profile = arrival.profile
    arrivals[position] = Arrival(arrival.at, _annotate(sms, profile), profile)  # type: ignore[arg-type]
    return arrivals[position]


def _stop_message(arrival: Arrival) -> Arrival:
    """The buyer who texted earlier answers our text-back with STOP."""
    event = arrival.event
    phone = event.person.phone or ""
    stop = wire.twilio_sms(
        f"{event.provider_event_id}"[:-4] + "STOP",
        phone,
        "STOP",
        event.person.country or "US",
    )
    return Arrival(
        arrival.at + timedelta(minutes=42),
        stop,
        arrival.profile,
        note="SMS STOP to our text-back",
    )
