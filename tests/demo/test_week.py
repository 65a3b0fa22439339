"""The demo week: deterministic, inside its week, every kind of arrival present."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from firsttouch.demo.figures import after_hours, median, percentile, share
from firsttouch.demo.profiles import generate_profiles, sample_profiles
from firsttouch.demo.week import WEEK, WEEK_START, build_week
from firsttouch.workspace import load_workspace

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "workspace"


def _week(seed: int = 11, count: int = 200):
    profiles, _ = sample_profiles(None, count, seed)
    return build_week(profiles, seed, load_workspace(EXAMPLE))


def test_same_seed_gives_the_same_week():
    first = [(a.at, a.event.model_dump_json()) for a in _week()]
    again = [(a.at, a.event.model_dump_json()) for a in _week()]
    assert first == again


def test_another_seed_gives_another_week():
    assert [a.at for a in _week(11)] != [a.at for a in _week(12)]


def test_arrivals_stay_inside_the_week_and_in_time_order():
    arrivals = _week()
    moments = [a.at for a in arrivals]
    assert moments == sorted(moments)
    # Extras (a voicemail, a follow-up email) may trail their lead by hours.
    assert all(WEEK_START <= m < WEEK_START + WEEK + WEEK / 7 for m in moments)


def test_week_has_nights_weekends_and_every_live_channel():
    arrivals = _week(count=400)
    parts = Counter(
        after_hours(a.at, a.event.person.timezone or "UTC") for a in arrivals
    )
    assert parts["weekend"] > 0 and parts["night"] > 0 and parts["business"] > 0

    kinds = Counter(a.event.kind for a in arrivals)
    for kind in (
        "form",
        "message",
        "chat",
        "missed_call",
        "voicemail",
        "meeting",
        "referral",
        "opt_out",
    ):
        assert kinds[kind] > 0, kind
    stop = [a for a in arrivals if a.event.kind == "opt_out"]
    assert stop[0].event.body_text == "STOP" and not stop[0].event.creates_lead
    assert stop[0].event.fields["sms_keyword"] == "stop"


def test_voicemail_follows_its_missed_call_with_the_same_number():
    arrivals = _week(count=400)
    calls = {
        a.event.provider_event_id: a for a in arrivals if a.event.kind == "missed_call"
    }
    voicemails = [a for a in arrivals if a.event.kind == "voicemail"]
    assert voicemails
    for voicemail in voicemails:
        call = calls[voicemail.event.fields["call_sid"]]
        assert voicemail.at > call.at
        assert voicemail.event.person.phone == call.event.person.phone


def test_stand_in_profiles_convert_more_when_engaged():
    profiles = generate_profiles(3000, seed=3)
    keen = [p.converted for p in profiles if p.engagement_seconds > 1000]
    idle = [
        p.converted
        for p in profiles
        if p.engagement_seconds < 100
        and p.occupation != "Working Professional"
        and p.source != "Reference"
    ]
    assert share(sum(keen), len(keen)) > share(sum(idle), len(idle)) + 0.2


def test_corpus_profiles_are_sampled_when_the_corpus_is_there(tmp_path: Path):
    leads = tmp_path / "datasets/leads/x_education"
    leads.mkdir(parents=True)
    (leads / "Leads.csv").write_text(
        "\ufeffProspect ID,Lead Origin,Lead Source,What is your current occupation,"
        "Total Time Spent on Website,TotalVisits,Converted,Country\n"
        "a1,API,Olark Chat,Select,12,1,0,India\n"
        "a2,Lead Add Form,Reference,Working Professional,1500,4,1,\n",
        encoding="utf-8",
    )
    profiles, note = sample_profiles(tmp_path, 5, seed=1)
    assert sorted(p.row_id for p in profiles) == ["a1", "a2"]
    assert "sampled" in note
    assert {p.occupation for p in profiles} == {"", "Working Professional"}


def test_figures():
    assert median([3, 1, 2]) == 2 and median([1, 2, 3, 4]) == 2.5 and median([]) is None
    assert percentile(list(range(1, 101)), 0.99) == 99
    assert percentile([5.0], 0.99) == 5.0
    assert share(1, 0) == 0.0


def test_every_phone_number_is_a_valid_number():
    import phonenumbers

    phones = {a.event.person.phone for a in _week(count=400) if a.event.person.phone}
    assert phones
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in phones)


def test_the_queue_is_read_on_monday_at_nine_in_the_team_zone():
    from datetime import UTC, datetime

    from firsttouch.demo.run import monday_morning

    assert monday_morning("America/New_York") == datetime(2026, 3, 16, 13, tzinfo=UTC)
    assert monday_morning("Europe/London") == datetime(2026, 3, 16, 9, tzinfo=UTC)
