"""Working-day deadlines on the official calendar, including National Day and its make-up days."""

import datetime as dt
import logging

import pytest

from hub.events.calendar import add_working_days, covered, is_working_day, working_days_between
from hub.events.deadlines import assess, due_on, remit_for

D = dt.date


def test_national_day_2026_and_its_make_up_days() -> None:
    # 2026: 1-7 October off; Sunday 20 September and Saturday 10 October are working days.
    assert not any(is_working_day(D(2026, 10, d)) for d in range(1, 8))
    assert is_working_day(D(2026, 9, 20)) and D(2026, 9, 20).weekday() == 6
    assert is_working_day(D(2026, 10, 10)) and D(2026, 10, 10).weekday() == 5


def test_village_deadline_spanning_national_day_counts_the_make_up_saturday() -> None:
    # accepted Wed 30 Sep: the 3 working days are Thu 8, Fri 9 and Sat 10 October (调休)
    assert due_on(D(2026, 9, 30), "village") == D(2026, 10, 10)
    # a naive Monday-Friday count would have said Mon 5 October
    assert add_working_days(D(2026, 9, 30), 3) != D(2026, 10, 5)


def test_township_deadline_spans_the_holiday_and_the_following_weekend() -> None:
    # from Tue 29 Sep: Wed 30, Thu 8, Fri 9, Sat 10 (make-up), Mon 12 (Sun 11 is off)
    assert due_on(D(2026, 9, 29), "township") == D(2026, 10, 12)


def test_county_remit_passes_up_within_one_working_day() -> None:
    assert due_on(D(2026, 9, 30), "county") == D(2026, 10, 8)
    late = assess("dispute", "county", D(2026, 9, 30), status="accepted", today=D(2026, 10, 9))
    assert late.overdue and late.escalated
    passed = assess("dispute", "county", D(2026, 9, 30), status="transferred", today=D(2026, 10, 20),
                    finished=D(2026, 10, 8))
    assert not passed.overdue and passed.escalated


def test_make_up_sunday_before_the_holiday_counts() -> None:
    # accepted Fri 18 Sep 2026: Sun 20 Sep is a working day, so day 1 is the Sunday
    assert add_working_days(D(2026, 9, 18), 1) == D(2026, 9, 20)


def test_overdue_only_after_the_due_day_and_not_once_closed() -> None:
    start = D(2026, 11, 2)  # Monday
    due = due_on(start, "village")
    assert due == D(2026, 11, 5)
    assert not assess("dispute", "village", start, "accepted", today=due).overdue
    assert assess("dispute", "village", start, "accepted", today=due + dt.timedelta(days=1)).overdue
    closed_late = assess("dispute", "village", start, "closed", today=D(2026, 12, 1), finished=D(2026, 11, 9))
    assert closed_late.overdue  # it was handled late: the record says so
    closed_in_time = assess("dispute", "village", start, "closed", today=D(2026, 12, 1), finished=D(2026, 11, 4))
    assert not closed_in_time.overdue


def test_explicit_rectification_deadline_wins() -> None:
    state = assess("hazard", "township", D(2026, 11, 2), "待整改", today=D(2026, 11, 20), explicit_due=D(2026, 11, 30))
    assert state.due_on == D(2026, 11, 30) and not state.overdue


def test_dispute_level_sets_the_remit() -> None:
    assert remit_for("dispute", "村级") == "village"
    assert remit_for("dispute", "镇级") == "township"
    assert remit_for("dispute", "县级") == "county"
    assert remit_for("incident") == "township"


def test_years_beyond_the_calendar_fall_back_to_weekdays_and_say_so(caplog: pytest.LogCaptureFixture) -> None:
    year = 2099
    assert not covered(year)
    with caplog.at_level(logging.WARNING):
        assert is_working_day(D(year, 10, 1))  # a Thursday: no published holiday to know of
        assert not is_working_day(D(year, 10, 3))  # Saturday
    assert any("not published" in r.message and str(year) in r.message for r in caplog.records)


def test_working_days_between_counts_the_used_days() -> None:
    assert working_days_between(D(2026, 9, 30), D(2026, 10, 10)) == 3
    assert working_days_between(D(2026, 10, 10), D(2026, 10, 1)) == 0


def test_county_schedule_wins_and_unknown_years_are_provisional(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    from hub.events.calendar import WorkCalendar, read_schedule

    path = tmp_path / "2099.yaml"
    path.write_text("year: 2099\nholidays:\n  - {name: 元旦, from: 2099-01-01, to: 2099-01-03}\nworkdays: [2099-01-10]\n",
                    encoding="utf-8")
    county = WorkCalendar.with_schedules(read_schedule(path))
    # Wed 31 Dec 2098 (guessed) + 1 working day: Thu 1 Jan 2099 is the county's holiday -> Mon 5 Jan
    assert county.add_working_days(D(2099, 1, 2), 1) == D(2099, 1, 5)  # Fri 2 Jan off, Sat-Sun off
    assert county.is_working_day(D(2099, 1, 10)) and D(2099, 1, 10).weekday() == 5  # a make-up Saturday
    assert not county.provisional(D(2099, 1, 2), D(2099, 1, 5))
    with caplog.at_level(logging.WARNING):
        state = assess("dispute", "village", D(2098, 12, 30), "accepted", today=D(2099, 1, 2), calendar=county)
    assert state.provisional  # 2098 is known to nobody: the days counted in it were guessed
    assert any("PROVISIONAL" in r.message and "2098" in r.message for r in caplog.records)
    assert not assess("dispute", "village", D(2026, 9, 30), "accepted", today=D(2026, 10, 1)).provisional


def test_a_bad_schedule_names_the_file_and_the_entry(tmp_path) -> None:
    from hub.errors import ConfigError
    from hub.events.calendar import read_schedule

    path = tmp_path / "cal.yaml"
    path.write_text("year: 2027\nholidays: [2026-12-31]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cal.yaml entry 1: 2026-12-31 is not in 2027"):
        read_schedule(path)
    path.write_text("- year: 2027\n  holidays: [2027-01-01]\n  workdays: [2027-01-01]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="both a holiday and a working day"):
        read_schedule(path)
