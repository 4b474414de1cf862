"""Renders every email template in both languages exactly as notifications/render.py does and
checks the contract: the context keys each kind uses, escaping, links, footer and structure."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined, UndefinedError, meta
from markupsafe import escape

from notifications.data_status_mail import data_status_context
from workflow.salutation import greeting
from workflow.terms import terms_for

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "email"
LANGS = ("de", "en")
BLOCKS = ("subject", "text", "html")

# What each kind reads from the top level of its context: the renderer must supply at least these.
# The office name and address come from the organisation settings (footer, From name).
COMMON = {
    "org_name",
    "org_office_name",
    "org_office_address",
    "org_contact_email",
    "greeting",
}
LINK = {"items", "form_url", "due_on", "link_expires_on"}
KIND_KEYS: dict[str, set[str]] = {
    "invitation_agreement": COMMON | LINK | {"cycle_year"},
    "review_request": COMMON | LINK | {"cycle_year"},
    "reminder": COMMON | LINK | {"phase", "phase_label"},
    "final_reminder": COMMON | LINK | {"phase_label"},
    "escalation_head": COMMON | {"items", "contact_name", "contact_email", "phase_label"},
    "digest": COMMON
    | {
        "dashboard_url",
        "body_name",
        "period_label",
        "meeting_label",
        "meeting",
        "new_items",
        "still_open",
        "resolved_items",
        "indicators",
        "decisions",
        "status_checks",
        "towns",
        "totals",
    },
    "confirmation_agreement": COMMON
    | {"items", "form_url", "submitted_by", "on_behalf_of", "for_owner"},
    "confirmation_review": COMMON
    | {"items", "form_url", "submitted_by", "on_behalf_of", "for_owner"},
    "deadline_extended": COMMON | {"items", "reason", "form_url", "link_expires_on"},
    "delegation": COMMON | LINK | {"phase_label", "from_name", "from_email"},
    "delegation_notice": COMMON
    | {"items", "phase_label", "delegate_name", "delegate_email", "pending"},
    "delegation_approval": COMMON
    | {
        "dashboard_url",
        "items",
        "phase_label",
        "owner_name",
        "owner_email",
        "delegate_name",
        "delegate_email",
    },
    "link_request": COMMON
    | {"action", "action_url", "contact_name", "contact_email", "phase_label", "cycle_year"},
    "link_reissued": COMMON | LINK | {"phase_label"},
    "password_reset": COMMON | {"reset_url", "expires_label"},
    "dead_letter": COMMON
    | {
        "outbox_url",
        "items",
        "failed_kind_label",
        "failed_recipient",
        "attempts",
        "last_error",
    },
    # Indicator data deliveries (workflow/indicators/mail.py builds these contexts).
    "data_request": COMMON | LINK,
    "data_reminder": COMMON | LINK,
    "data_final_reminder": COMMON | LINK,
    "data_escalation_head": COMMON | {"items", "contact_name", "contact_email"},
    "confirmation_data": COMMON
    | {"items", "form_url", "submitted_by", "on_behalf_of", "for_owner"},
    "data_deadline_extended": COMMON | LINK | {"reason"},
    "data_delegation": COMMON | LINK | {"from_name", "from_email"},
    "data_delegation_notice": COMMON | {"items", "delegate_name", "delegate_email"},
    # A body's Aufträge (workflow/decisions/assignment_mail.py builds these contexts).
    "assignment_request": COMMON | LINK | {"notice"},
    "assignment_reminder": COMMON | LINK,
    "assignment_final_reminder": COMMON | LINK,
    "assignment_escalation_head": COMMON | {"items", "contact_name", "contact_email"},
    "assignment_confirmation": COMMON | {"items", "form_url", "submitted_by"},
}
MEETING = {"body_name", "meeting_title", "meeting_date", "meeting_time", "place", "agenda"}
KIND_KEYS |= {
    # Meetings (notifications/meeting_mail.py builds these contexts).
    "meeting_invitation": COMMON | MEETING | {"pack_url", "report_field", "items"},
    "meeting_changed": COMMON | MEETING | {"pack_url", "previous_date", "previous_time"},
}
# A status request to a measure's contact (notifications/status_answers.py adds its keys).
KIND_KEYS |= {"status_request": COMMON | {"items", "asked_by", "body_name", "note", "reply_to"}}
# "Meilenstein erreicht?" (workflow/milestones/mail.py builds its context).
KIND_KEYS |= {"milestone_due": COMMON | {"items", "link_expires_on"}}
# The coordinators, when Neuplanung waits for next year's cycle (workflow/cycles/carry.py).
KIND_KEYS |= {"open_cycle_reminder": COMMON | {"items", "year", "next_year", "pipeline_url"}}
# The coordinators, once a day, about bouncing addresses (notifications/bounces/notice.py).
KIND_KEYS |= {"bounce_notice": COMMON | {"addresses"}}
# The Integrationskonferenz's actors (workflow/conference/mail.py, activities.py).
KIND_KEYS |= {
    "conference_invitation": COMMON
    | {"conference_title", "held_on", "time_label", "place", "description", "actor_name"}
    | {"invitation_url", "unsubscribe_url"},
    "actor_activity_request": COMMON
    | {"actor_name", "year", "form_url", "link_expires_on", "text_limit"},
}
# The Monitoringgruppe's Datenstand (notifications/data_status_mail.py builds its context).
KIND_KEYS |= {
    "data_status": COMMON
    | {"body_name", "period_label", "page_url", "missing", "flagged", "unchecked"}
    | {"missing_count", "flagged_count", "unchecked_count"}
}
# A status check's part (workflow/status_checks/mail_context.py builds these contexts).
KIND_KEYS |= {
    "status_check_request": COMMON | LINK | {"handed_by"},
    "status_check_reminder": COMMON | LINK,
    "status_check_final_reminder": COMMON | LINK,
    "status_check_escalation_head": COMMON
    | {"items", "contact_name", "contact_email", "due_on", "days_overdue", "reminders_sent"},
    "status_check_confirmation": COMMON
    | {"items", "form_url", "submitted_by", "on_behalf_of", "for_owner"},
    "status_check_delegation_notice": COMMON
    | {"items", "delegate_name", "delegate_email", "due_on"},
}
# Kinds that name the department or council in the organisation's own words (workflow/terms.py).
TERM_KINDS = (
    "invitation_agreement",
    "review_request",
    "final_reminder",
    "escalation_head",
    "assignment_final_reminder",
    "data_final_reminder",
    "delegation",
    "status_check_final_reminder",
)
KIND_KEYS |= {kind: KIND_KEYS[kind] | {"terms"} for kind in TERM_KINDS}
KINDS = tuple(KIND_KEYS)

# Which keys of each listed item a kind reads (digest: of new_items, still_open, resolved_items).
PLACE = {"code", "title", "goal_code", "goal_name", "field_code", "field_name"}
ITEM_KEYS: dict[str, set[str]] = {
    "invitation_agreement": PLACE | {"due_on"},
    "review_request": PLACE | {"due_on"},
    "reminder": PLACE | {"due_on"},
    "final_reminder": PLACE | {"due_on"},
    "escalation_head": PLACE | {"days_overdue", "reminders_sent"},
    "digest": PLACE
    | {"department", "days_overdue", "level_label", "history", "measure_cycle_id", "resolution"},
    "confirmation_agreement": PLACE | {"answers"},
    "confirmation_review": PLACE | {"answers"},
    "deadline_extended": PLACE | {"due_on", "state_label"},
    "delegation": PLACE | {"due_on"},
    "delegation_notice": PLACE,
    "delegation_approval": PLACE | {"measure_cycle_id"},
    "link_request": set(),
    "link_reissued": PLACE | {"due_on"},
    "password_reset": set(),
    "dead_letter": PLACE | {"due_on", "state_label"},
    "data_request": {"code", "title", "period_label", "delivery_label", "unit_label"},
    "data_reminder": {"code", "title", "period_label", "delivery_label"},
    "data_final_reminder": {"code", "title", "period_label", "delivery_label"},
    "data_escalation_head": {
        "code", "title", "period_label", "delivery_label", "days_overdue", "reminders_sent"
    },
    "confirmation_data": {"code", "title", "period_label", "answers"},
    "data_deadline_extended": {"code", "title", "period_label", "delivery_label"},
    "data_delegation": {"code", "title", "period_label", "delivery_label", "unit_label"},
    "data_delegation_notice": {"code", "title", "period_label", "delivery_label"},
    "assignment_request": {"code", "title", "due_on"},
    "assignment_reminder": {"code", "title", "due_on"},
    "assignment_final_reminder": {"code", "title", "due_on"},
    "assignment_escalation_head": {
        "code", "title", "days_overdue", "reminders_sent", "status_label"
    },
    "assignment_confirmation": {"code", "title", "status_label", "answer"},
}  # fmt: skip
ASSIGNMENT_KINDS = tuple(k for k in KIND_KEYS if k.startswith("assignment_"))
ITEM_KEYS |= {"meeting_invitation": PLACE | {"answers"}, "meeting_changed": set()}
ITEM_KEYS |= {"status_request": PLACE | {"state_label", "due_on", "agreement", "review"}}
ITEM_KEYS |= {"milestone_due": {"code", "title", "text", "due_on", "yes_url", "new_url"}}
ITEM_KEYS |= {k: {"code", "title"} for k in KIND_KEYS if k.startswith("status_check_")}
ITEM_KEYS["status_check_confirmation"] = {"code", "title", "answers"}
ITEM_KEYS |= {"open_cycle_reminder": PLACE}
ITEM_KEYS |= {"bounce_notice": set()}  # its list is "addresses", checked on its own
ITEM_KEYS |= {"conference_invitation": set(), "actor_activity_request": set()}
ITEM_KEYS |= {"data_status": set()}  # its lists are checked in tests/test_value_checks.py
DATA_KINDS = (
    "data_request",
    "data_reminder",
    "data_final_reminder",
    "data_escalation_head",
    "data_deadline_extended",
)
ITEM_LISTS = ("items", "new_items", "still_open", "resolved_items")

FOOTER = {
    "de": "{org} · {office} · Fragen an: {email}",
    "en": "{org} · {office} · Questions to: {email}",
}
DASHBOARD = "https://zielflow.lindenau.de"
OFFICE = "Stabsstelle Integration & Vielfalt"
OFFICE_ADDRESS = "Rathausplatz 1, 51465 Lindenau"
FORM_URL = DASHBOARD + "/formular/k7Qp-2vX_9LmRt4w"
RESET_URL = DASHBOARD + "/passwort/neu/Zr8_Hq2-PwL0aT5e"
TRICKY_TITLE = "Ausbildungsbegleitung für Jugendliche < 25 Jahre & junge Erwachsene"
SCHOOL_DEPT = "Amt für Schule, Bildung & Sport"
JOBCENTER = "Jobcenter Lindenau"
PERSONNEL = "Haupt- und Personalamt"
# Apostrophes become &#39; under autoescape, so these names prove the plain text is not escaped.
RECIPIENT = "Renée Weiß-O'Brien"
CONTACT = "Zoë D'Almeida"
FAILED_RECIPIENT = '"Müller, Anna" <a.mueller@lindenau.de>'
PLURAL_SLIP = re.compile(
    r"\b1 (Maßnahmen|Tagen|Erinnerungen|Versuchen|measures|days|reminders|attempts)\b"
)

DATES = {
    "de": {"apr15": "15.04.2026", "apr30": "30.04.2026", "may29": "29.05.2026"},
    "en": {"apr15": "15 April 2026", "apr30": "30 April 2026", "may29": "29 May 2026"},
}
PHASE_LABELS = {
    "de": {"target_agreement": "Zielvereinbarung", "review": "Zielerreichung"},
    "en": {"target_agreement": "target agreement", "review": "review of achievement"},
}


def make_env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


ENV = make_env()


def render(kind: str, lang: str, context: dict[str, Any]) -> dict[str, str]:
    template = ENV.get_template(f"{kind}.{lang}.jinja")
    return {name: "".join(template.blocks[name](template.new_context(context))) for name in BLOCKS}


# -- sample data ---------------------------------------------------------------------------


def item(
    lang: str,
    cycle_id: int,
    code: str,
    title: str,
    goal: tuple[str, str],
    field: tuple[str, str],
    due: str | None,
    days_overdue: int = 0,
    reminders_sent: int = 0,
) -> dict[str, Any]:
    return {
        "measure_cycle_id": cycle_id,
        "code": code,
        "title": title,
        "goal_code": goal[0],
        "goal_name": goal[1],
        "field_code": field[0],
        "field_name": field[1],
        "due_on": DATES[lang][due] if due else None,
        "days_overdue": days_overdue,
        "state_label": PHASE_LABELS[lang]["target_agreement"],
        "reminders_sent": reminders_sent,
    }


def sample_items(lang: str) -> list[dict[str, Any]]:
    """Four measures in two fields and three goals, sorted as the renderer sorts them."""
    work = ("A", "Wirtschaft, Arbeit & Ausbildung")
    school = ("B", "Bildung & Sprache")
    transition = ("A1", "Übergänge von der Schule in den Beruf verbessern")
    return [
        item(lang, 41, "A1.1", TRICKY_TITLE, transition, work, "apr15", 23, 3),
        item(lang, 42, "A1.3", "Berufsorientierung in Vorbereitungsklassen", transition, work,
             "apr15", 41, 1),
        item(lang, 43, "A2.1", "Lotsenstelle für Anerkennungsverfahren",
             ("A2", "Anerkennung ausländischer Abschlüsse beschleunigen"), work, "apr30", 1, 2),
        item(lang, 44, "B1.2", "Alltagsintegrierte Sprachbildung in städtischen Kitas",
             ("B1", "Sprachförderung in Kitas ausbauen"), school, None, 0, 0),
    ]  # fmt: skip


def answers(lang: str) -> list[list[str]]:
    if lang == "de":
        return [
            ["Entscheidung", "Umsetzen"],
            ["Ziele", "Zwei Kurse je Halbjahr\r\nmindestens 30 Teilnehmende & <Warteliste>"],
            ["Meilensteine", "01.06.2026 Kursstart\n01.10.2026 Zwischenbilanz"],
            ["Verantwortlich", "Frau Özdemir (Übergangsmanagement)"],
        ]
    return [
        ["Decision", "Implement"],
        ["Targets", "Two courses per half-year\r\nat least 30 participants & <waiting list>"],
        ["Milestones", "01.06.2026 courses start\n01.10.2026 interim review"],
        ["Responsible", "Ms Özdemir (transition management)"],
    ]


def sample_context(kind: str, lang: str) -> dict[str, Any]:
    dates = DATES[lang]
    phase_labels = PHASE_LABELS[lang]
    items = sample_items(lang)
    ctx: dict[str, Any] = {
        "org_name": "Stadt Lindenau",
        "org_office_name": OFFICE,
        "org_office_address": OFFICE_ADDRESS,
        "org_contact_email": "integration@lindenau.de",
        # "Sehr geehrte Frau Weiß-O'Brien,": the greeting carries a name that needs escaping.
        "greeting": greeting(salutation="frau", name=RECIPIENT, lang=lang),
        "lang": lang,
        "dashboard_url": DASHBOARD,
    }
    link = {
        "items": items,
        "form_url": FORM_URL,
        "due_on": dates["apr15"],
        "link_expires_on": dates["may29"],
    }
    if kind in ("invitation_agreement", "review_request"):
        ctx |= link | {"cycle_year": 2026}
    elif kind in ("reminder", "final_reminder"):
        ctx |= link | {"phase": "review", "phase_label": phase_labels["review"]}
    elif kind == "escalation_head":
        ctx |= {
            "items": items,
            "contact_name": CONTACT,
            "contact_email": "zoe.kraemer@lindenau.de",
            "phase_label": phase_labels["target_agreement"],
        }
    elif kind == "digest":
        ctx |= digest_lists(lang) | digest_extras(lang)
        ctx |= {
            "period_label": "KW 12/2026",
            "meeting_label": "vor der Sitzung am 18.03.2026" if lang == "de" else None,
        }
        if lang == "en":
            ctx["meeting_label"] = "before the meeting on 18 March 2026"
    elif kind in ("confirmation_agreement", "confirmation_review"):
        for each in items:
            each["answers"] = answers(lang)
        items[3]["answers"] = []
        ctx |= {
            "items": items,
            "form_url": FORM_URL,
            "submitted_by": CONTACT,
            "on_behalf_of": "Petra Schäfer",
            "for_owner": False,
        }
    elif kind == "deadline_extended":
        for each in items:
            each["due_on"] = dates["apr30"]
        items[2]["due_on"] = dates["may29"]
        ctx |= {
            "items": items,
            "reason": "Personalwechsel & Urlaubszeit im Amt",
            "form_url": FORM_URL,
            "link_expires_on": dates["may29"],
        }
    elif kind == "delegation":
        ctx |= link | {
            "phase_label": phase_labels["target_agreement"],
            "from_name": CONTACT,
            "from_email": "zoe.kraemer@lindenau.de",
        }
    elif kind in ("delegation_notice", "delegation_approval"):
        ctx |= {
            "items": items,
            "phase_label": phase_labels["target_agreement"],
            "delegate_name": "Jörg O'Neill-Weiß",
            "delegate_email": "joerg.oneill@verein.example.org",
            "pending": kind == "delegation_approval",
            "owner_name": CONTACT,
            "owner_email": "zoe.kraemer@lindenau.de",
        }
        if kind == "delegation_notice":
            del ctx["owner_name"], ctx["owner_email"]
    elif kind == "link_request":
        ctx |= {
            "action": "measure",
            "action_url": DASHBOARD + "/massnahmen/41",
            "contact_name": CONTACT,
            "contact_email": "zoe.kraemer@lindenau.de",
            "phase_label": phase_labels["review"],
            "cycle_year": 2026,
        }
    elif kind == "link_reissued":
        ctx |= link | {"phase_label": phase_labels["target_agreement"]}
    elif kind == "password_reset":
        ctx |= {
            "reset_url": RESET_URL,
            "expires_label": "in 60 Minuten" if lang == "de" else "in 60 minutes",
        }
    elif kind == "data_delegation":
        ctx |= link | {
            "items": data_items(lang),
            "from_name": CONTACT,
            "from_email": "zoe.kraemer@lindenau.de",
        }
    elif kind == "data_delegation_notice":
        ctx |= {
            "items": data_items(lang),
            "delegate_name": "Jörg O'Neill-Weiß",
            "delegate_email": "joerg.oneill@lindenau.de",
        }
    elif kind in DATA_KINDS:
        ctx |= {"items": data_items(lang)}
        if kind == "data_escalation_head":
            ctx |= {"contact_name": CONTACT, "contact_email": "zoe.kraemer@lindenau.de"}
        else:
            ctx |= {k: v for k, v in link.items() if k != "items"}
        if kind == "data_deadline_extended":
            ctx["reason"] = "Umstellung der Statistik & <Zählweise>"
    elif kind == "confirmation_data":
        entries = data_items(lang)
        for each in entries:
            each["answers"] = data_answers(lang)
        entries[1]["answers"] = []
        ctx |= {"items": entries, "form_url": FORM_URL, "submitted_by": CONTACT}
        ctx |= {"on_behalf_of": "Petra Schäfer", "for_owner": False}
    elif kind in ASSIGNMENT_KINDS:
        ctx |= {"items": assignment_items(lang, answered=kind == "assignment_confirmation")}
        if kind == "assignment_escalation_head":
            ctx |= {"contact_name": CONTACT, "contact_email": "zoe.kraemer@lindenau.de"}
        elif kind == "assignment_confirmation":
            ctx |= {"form_url": FORM_URL, "submitted_by": CONTACT}
        else:
            ctx |= {k: v for k, v in link.items() if k != "items"}
        if kind == "assignment_request":
            ctx["notice"] = ""
    elif kind in ("meeting_invitation", "meeting_changed"):
        ctx |= meeting_sample(kind, lang)
    elif kind == "status_request":
        ctx |= status_request_sample(lang)
    elif kind == "milestone_due":
        ctx |= milestone_sample(lang)
    elif kind.startswith("status_check_"):
        ctx |= status_check_sample(kind, lang, link)
    elif kind == "open_cycle_reminder":
        ctx |= {
            "items": items,
            "year": 2026,
            "next_year": 2027,
            "pipeline_url": DASHBOARD + "/pipeline?cycle=2026",
        }
    elif kind == "bounce_notice":
        ctx |= {"addresses": bounce_sample(lang)}
    elif kind == "data_status":
        value = {
            "value_id": 7,
            "indicator_code": "A-K1",
            "statement": "Der Arbeitslosenindex <nähert> sich an & mehr",
            "unit": "index",
            "survey_date": "2026-01-15",
            "district": "",
            "value": 182.4,
            "flag_reason": "weit vom Verlauf",
            "delivered_at": "2026-01-20T09:00:00+00:00",
        }
        stored = {
            "body_name": "Monitoringgruppe O'Neill & Partner",
            "period_labels": {"de": "KW 16/2026", "en": "week 16, 2026"},
            "status": {
                "missing": [
                    {
                        "request_id": 3,
                        "indicator_code": "B-K2",
                        "statement": "Anteil ausländischer Kinder an Hauptschulen",
                        "period": "2026-04",
                        "due_on": "2026-04-15",
                        "contact_name": CONTACT,
                        "overdue": True,
                    }
                ],
                "flagged": [value],
                "unchecked": [value | {"value_id": 8, "flag_reason": ""}],
                "missing_count": 1,
                "flagged_count": 1,
                "unchecked_count": 1,
            },
        }
        ctx |= data_status_context(stored, lang, DASHBOARD)
    elif kind == "conference_invitation":
        ctx |= {
            "conference_title": "Integrationskonferenz 2027 <Zusammenleben & Teilhabe>",
            "held_on": dates["apr30"],
            "time_label": "14:00 bis 18:00 Uhr" if lang == "de" else "2 pm to 6 pm",
            "place": "Ratssaal, Markt 1",
            "description": "",
            "actor_name": "Elternverein O'Neill & Partner e. V.",
            "invitation_url": DASHBOARD + "/einladung/" + "x" * 43,
            "unsubscribe_url": DASHBOARD + "/einladung/" + "x" * 43 + "/abmelden",
        }
    elif kind == "actor_activity_request":
        ctx |= {
            "actor_name": "Elternverein O'Neill & Partner e. V.",
            "year": 2026,
            "form_url": DASHBOARD + "/aktivitaeten/" + "y" * 43,
            "link_expires_on": dates["may29"],
            "text_limit": "2.000" if lang == "de" else "2,000",
        }
    elif kind == "dead_letter":
        ctx |= {
            "items": items[:2],
            "failed_kind_label": "Erinnerung" if lang == "de" else "Reminder",
            "failed_recipient": FAILED_RECIPIENT,
            "outbox_url": DASHBOARD + "/postausgang?status=dead",
            "attempts": 5,
            "last_error": "550 5.1.1 <a.mueller@lindenau.de>: Recipient address rejected\n"
            "User unknown in virtual mailbox table",
        }
    if kind in TERM_KINDS:
        ctx["terms"] = terms_for(None, lang)
    return ctx


def meeting_sample(kind: str, lang: str) -> dict[str, Any]:
    """A body's meeting; the invitation goes to a guest who reports on field A."""
    ctx: dict[str, Any] = {
        "body_name": "Begleitgremium Integration & Teilhabe",
        "meeting_title": "Frühjahrssitzung <öffentlich>",
        "meeting_date": DATES[lang]["apr30"],
        "meeting_time": "17:30",
        "place": "Rathaus, Sitzungssaal 2 & Foyer",
        "agenda": ["Bericht aus dem Handlungsfeld A", "Streichungsvorschlag A1.3 <Kurse>"],
        "pack_url": DASHBOARD + "/sitzungen/7/unterlage",
    }
    if kind == "meeting_changed":
        return ctx | {"previous_date": DATES[lang]["apr15"], "previous_time": "18:00"}
    items = sample_items(lang)[:3]
    for each in items:
        each["answers"] = answers(lang)[1:3]
    items[2]["answers"] = []
    return ctx | {"report_field": "A Wirtschaft, Arbeit & Ausbildung", "items": items}


def status_request_sample(lang: str) -> dict[str, Any]:
    """A member of a body asks about one measure with an agreement of this year and a review of
    last year, as notifications/status_answers.py builds it."""
    (entry,) = sample_items(lang)[:1]
    entry["agreement"] = {"year": 2026, "pairs": answers(lang)[1:4]}
    entry["agreement"]["pairs"][0][1] = entry["agreement"]["pairs"][0][1].replace("\r\n", "\n")
    label = "Hindernisse" if lang == "de" else "Obstacles"
    entry["review"] = {"year": 2025, "pairs": [[label, "Raumnot & <Personalwechsel>"]]}
    return {
        "items": [entry],
        "asked_by": "Jörg O'Neill-Weiß",
        "body_name": "Begleitgremium Integration & Teilhabe",
        "note": "Wie steht es um die Kurse?\nBitte vor der Sitzung <am 18.03.>.",
        "reply_to": "integration@lindenau.de",
    }


def status_check_sample(kind: str, lang: str, link: dict[str, Any]) -> dict[str, Any]:
    """One contact's part of a status check with two measures, as
    workflow/status_checks/mail_context.py builds it."""
    items = [{"code": i["code"], "title": i["title"]} for i in sample_items(lang)[:2]]
    if kind == "status_check_escalation_head":
        return {
            "items": items,
            "contact_name": CONTACT,
            "contact_email": "zoe.kraemer@lindenau.de",
            "due_on": DATES[lang]["apr15"],
            "days_overdue": 8,
            "reminders_sent": 1,
        }
    if kind == "status_check_confirmation":
        stand, note = ("Stand", "Anmerkung") if lang == "de" else ("Status", "Note")
        items[0]["answers"] = [
            [stand, "verzögert" if lang == "de" else "delayed"],
            [note, "Raumnot & <Personalwechsel>\r\nneuer Termin im Mai"],
        ]
        items[1]["answers"] = []
        receipt = {"items": items, "form_url": FORM_URL, "submitted_by": CONTACT}
        return receipt | {"on_behalf_of": "Petra Schäfer", "for_owner": False}
    if kind == "status_check_delegation_notice":
        return {
            "items": items,
            "delegate_name": "Jörg O'Neill-Weiß",
            "delegate_email": "joerg.oneill@lindenau.de",
            "due_on": DATES[lang]["apr15"],
        }
    shown = link | {"items": items}
    return shown | {"handed_by": ""} if kind == "status_check_request" else shown


def milestone_sample(lang: str) -> dict[str, Any]:
    """Two milestones of two measures due the same day, as workflow/milestones/mail.py lists them."""
    items = []
    for entry, text in zip(
        sample_items(lang)[:2], ("Konzept & Zeitplan <abgestimmt>", "Kursstart"), strict=True
    ):
        items.append(
            {
                "code": entry["code"],
                "title": entry["title"],
                "text": text,
                "due_on": DATES[lang]["apr30"],
                "yes_url": DASHBOARD + f"/f/k7Qp-{entry['code']}?antwort=ja",
                "new_url": DASHBOARD + f"/f/k7Qp-{entry['code']}?antwort=neu",
            }
        )
    return {"items": items, "link_expires_on": DATES[lang]["may29"]}


def data_items(lang: str) -> list[dict[str, Any]]:
    """Two indicators of one source, as workflow/indicators/mail.py lists them."""
    feb = "Februar 2026" if lang == "de" else "February 2026"
    return [
        {
            "code": "A-K1",
            "title": "Der Arbeitslosenindex bei Ausländer/innen < 2 × Gesamtwert & sinkt",
            "period_label": feb,
            "delivery_label": "",  # the rhythm "months": the period is the delivery month
            "unit_label": "Indexwert" if lang == "de" else "index value",
            "due_on": DATES[lang]["apr15"],
            "days_overdue": 23,
            "reminders_sent": 3,
        },
        {
            "code": "C-W1",
            "title": "Der Austausch in der Stadtgesellschaft wird positiv bewertet",
            "period_label": "Kalenderjahr 2025" if lang == "de" else "Calendar year 2025",
            "delivery_label": f"{'Lieferung bis' if lang == 'de' else 'Delivery by'} "
            + DATES[lang]["apr15"],
            "unit_label": "Befragung (Skala 1–5)" if lang == "de" else "survey (scale 1–5)",
            "due_on": DATES[lang]["apr15"],
            "days_overdue": 1,
            "reminders_sent": 1,
        },
    ]


def assignment_items(lang: str, *, answered: bool = False) -> list[dict[str, Any]]:
    """Two Aufträge of one body's meeting, as workflow/decisions/assignment_mail.py lists them."""
    meeting = "Steuerungsgruppe, Sitzung am 12.03.2026"
    if lang == "en":
        meeting = "Steuerungsgruppe, meeting of 12 March 2026"
    entries = [
        {
            "decision_id": 7,
            "code": meeting,
            "title": "Zeitplan für Sprachkurse < 25 Jahre & Eltern vorlegen",
            "due_on": DATES[lang]["apr15"],
            "days_overdue": 23,
            "reminders_sent": 3,
            "status_label": "in Bearbeitung" if lang == "de" else "in progress",
        },
        {
            "decision_id": 8,
            "code": meeting,
            "title": "Bericht über die Lotsenstelle in der nächsten Sitzung",
            "due_on": DATES[lang]["apr30"],
            "days_overdue": 1,
            "reminders_sent": 1,
            "status_label": "offen" if lang == "de" else "open",
        },
    ]
    if answered:
        entries[0]["answer"] = "Entwurf liegt vor\r\nAbstimmung mit <Schulamt> & Jobcenter läuft"
        entries[1]["answer"] = "Erledigt: Bericht ist verschickt."
    return entries


def data_answers(lang: str) -> list[list[str]]:
    if lang == "de":
        return [
            ["Erhebungsdatum", "15.02.2026"],
            ["Gesamtstadt", "1.234,5 (ungewöhnlich weit vom bisherigen Verlauf – bitte prüfen)"],
            ["Anmerkung", "Neue Zählweise ab 2026\r\nsiehe <Anlage> & Protokoll"],
        ]
    return [
        ["Survey date", "15 February 2026"],
        ["whole city", "1,234.5 (unusually far from the series so far – please check)"],
        ["Comment", "New counting from 2026\r\nsee <annex> & minutes"],
    ]


def digest_extras(lang: str) -> dict[str, Any]:
    """The body, its meeting with the agenda, an overdue indicator, an open and a done task."""
    de = lang == "de"
    task = {
        "kind_label": "Auftrag" if de else "Task",
        "text": "Konzept für die Elternarbeit vorlegen\r\nmit Zeitplan & <Kosten>",
        "meeting_on": DATES[lang]["apr15"],
        "due_on": DATES[lang]["apr30"],
        "days_overdue": 3,
        "status_label": "offen" if de else "open",
        "contact_name": CONTACT,
        "level_label": "Eskalationsstufe 2" if de else "escalation level 2",
        "path": "/sitzungen/6",
        "resolution": None,
        "is_new": True,
    }
    check = {
        "line": (
            "Sachstandsabfrage vom 02.03.2026, fällig am 15.04.2026: keine Antwort von "
            f"{CONTACT} zu A1.1, A1.3"
            if de
            else "Status check of 2 March 2026, due on 15 April 2026: no answer from "
            f"{CONTACT} on A1.1, A1.3"
        ),
        "days_overdue": 21,
        "level_label": "Eskalationsstufe 2" if de else "escalation level 2",
        "path": "/sachstandsabfragen/3",
        "resolution": None,
        "is_new": True,
    }
    return {
        "body_name": "Begleitgremium Integration & Teilhabe",
        "meeting": {
            "date": DATES[lang]["may29"],
            "time": "17:00",
            "place": "Rathaus, Raum 2.14",
            "title": "2. Sitzung 2026",
            "agenda": ["Bericht aus dem Handlungsfeld B", "Eskalierte Maßnahmen & Kennzahlen"],
            "path": "/sitzungen/7",
            "pack_path": "/sitzungen/7/unterlage",
        },
        "indicators": [
            {
                "code": "B-K2",
                "title": "Anteil der Kinder mit Sprachförderbedarf < 20 %",
                "period_label": "Februar 2026" if de else "February 2026",
                "due_on": DATES[lang]["apr15"],
                "days_overdue": 23,
                "source": "Statistikstelle",
                "level_label": "Eskalationsstufe 2" if de else "escalation level 2",
                "path": "/kennzahlen/5",
                "resolution": None,
                "is_new": True,
            }
        ],
        "decisions": [task, task | {"resolution": "erledigt" if de else "done", "is_new": False}],
        # A status check's part at the steering rung (notifications/digest_views.py writes
        # the line), and one answered since.
        "status_checks": [
            check,
            check | {"resolution": "beantwortet" if de else "answered", "is_new": False},
        ],
        "towns": [],  # a represented town's part: tests/test_town_representatives.py
    }


def digest_lists(lang: str) -> dict[str, Any]:
    a11, a13, a21, b12 = sample_items(lang)
    history = "3 Erinnerungen, zuletzt am 02.03.2026; Zielvereinbarung fehlt"

    def escalated(entry: dict[str, Any], department: str, level: int) -> dict[str, Any]:
        return entry | {
            "department": department,
            "level_label": f"Eskalationsstufe {level}",
            "history": history,
        }

    b12["days_overdue"] = 4
    closed = item(lang, 45, "C1.1", "Interkulturelle Öffnung der Stadtverwaltung",
                  ("C1", "Verwaltung öffnen"), ("C", "Zusammenleben"), "apr15")  # fmt: skip
    new = [escalated(a11, SCHOOL_DEPT, 2), escalated(b12, SCHOOL_DEPT, 1)]
    new.append(escalated(a21, JOBCENTER, 1))
    return {
        "new_items": new,
        "still_open": [escalated(a13, SCHOOL_DEPT, 2)],
        "resolved_items": [closed | {"department": PERSONNEL, "resolution": "jetzt: Umsetzung"}],
        "totals": {"new": 3, "still_open": 1, "resolved": 1},
    }


BOUNCING = "a.mueller@lindenau.de"


def bounce_sample(lang: str) -> list[dict[str, Any]]:
    """Two addresses: one a contact's and a head's (a title that needs escaping), one unused."""
    return [
        {
            "email": BOUNCING,
            "since": DATES[lang]["apr15"],
            "reason": "5.1.1 <a.mueller@lindenau.de>: Recipient address rejected & unknown",
            "measures": [
                {"code": "A1.1", "title": TRICKY_TITLE, "url": DASHBOARD + "/massnahmen/41"}
            ],
            "departments": [{"name": SCHOOL_DEPT, "url": DASHBOARD + "/fachbereiche/3/leitung"}],
        },
        {
            "email": "alt@lindenau.de",
            "since": DATES[lang]["apr30"],
            "reason": "4.2.2 mailbox full",
            "measures": [],
            "departments": [],
        },
    ]


def _one_address(ctx: dict[str, Any]) -> None:
    ctx["addresses"] = ctx["addresses"][:1]


def _no_correction(ctx: dict[str, Any]) -> None:
    ctx["form_url"] = None
    ctx["on_behalf_of"] = None


def _empty_digest(ctx: dict[str, Any]) -> None:
    ctx.update(new_items=[], still_open=[], resolved_items=[], meeting_label=None)
    ctx.update(meeting=None, indicators=[], decisions=[], status_checks=[])
    ctx["totals"] = {"new": 0, "still_open": 0, "resolved": 0}


def _single(ctx: dict[str, Any]) -> None:
    ctx["items"] = ctx["items"][:1]


def _same_date(ctx: dict[str, Any]) -> None:
    ctx["items"] = ctx["items"][:2]
    ctx["reason"] = ""


def _single_no_reason(ctx: dict[str, Any]) -> None:
    ctx["items"] = ctx["items"][:1]
    ctx["reason"] = ""


def _no_items(ctx: dict[str, Any]) -> None:
    ctx["items"] = []


def _no_data_correction(ctx: dict[str, Any]) -> None:
    ctx["form_url"] = None


def _pending(ctx: dict[str, Any]) -> None:
    ctx["pending"] = True


def _data_link(ctx: dict[str, Any]) -> None:
    ctx.update(action="data", action_url=DASHBOARD + "/kennzahlen")


def _nothing_open(ctx: dict[str, Any]) -> None:
    ctx.update(action="pipeline", action_url=DASHBOARD + "/pipeline?department_id=3")


def _owners_copy(ctx: dict[str, Any]) -> None:
    """What a colleague answered in the owner's place, as the owner's copy (issue 13)."""
    ctx.update(for_owner=True, on_behalf_of=None)


def _extended(ctx: dict[str, Any]) -> None:
    ctx["notice"] = "extended"


def _reissued(ctx: dict[str, Any]) -> None:
    ctx["notice"] = "reissued"


def _no_address(ctx: dict[str, Any]) -> None:
    ctx["org_office_address"] = ""


def _member_without_account(ctx: dict[str, Any]) -> None:
    ctx.update(report_field="", items=[], pack_url="", agenda=[], meeting_title="")


def _not_fixed_yet(ctx: dict[str, Any]) -> None:
    ctx.update(meeting_time="", place="", pack_url="", agenda=[])
    ctx.update({k: "" for k in ("previous_time",) if k in ctx})


VARIANTS: dict[str, list[tuple[str, Callable[[dict[str, Any]], None]]]] = {
    "delegation_notice": [("pending", _pending), ("single", _single)],
    "confirmation_agreement": [
        ("no_correction", _no_correction), ("single", _single), ("owners_copy", _owners_copy)
    ],
    "confirmation_review": [("no_correction", _no_correction), ("owners_copy", _owners_copy)],
    "digest": [("empty", _empty_digest)],
    "invitation_agreement": [("single", _single)],
    "escalation_head": [("single", _single)],
    "final_reminder": [("single", _single)],
    "deadline_extended": [("same_date_no_reason", _same_date)],
    "dead_letter": [("no_items", _no_items)],
    "link_request": [("data", _data_link), ("nothing_open", _nothing_open)],
    "password_reset": [("no_address", _no_address)],
    "meeting_invitation": [("member", _member_without_account), ("not_fixed", _not_fixed_yet)],
    "meeting_changed": [("not_fixed", _not_fixed_yet)],
    "data_request": [("single", _single)],
    "data_escalation_head": [("single", _single)],
    "confirmation_data": [("no_correction", _no_data_correction), ("owners_copy", _owners_copy)],
    "data_deadline_extended": [("single_no_reason", _single_no_reason)],
    "data_delegation": [("single", _single)],
    "data_delegation_notice": [("single", _single)],
    "assignment_request": [
        ("single", _single), ("extended", _extended), ("reissued", _reissued)
    ],
    "assignment_final_reminder": [("single", _single)],
    "assignment_escalation_head": [("single", _single)],
    "assignment_confirmation": [("single", _single)],
}  # fmt: skip


def _nothing_recorded(ctx: dict[str, Any]) -> None:
    """Asked by the coordination office, no note, nothing answered yet, no reply address."""
    ctx.update(body_name="", note="", reply_to="")
    for entry in ctx["items"]:
        entry.update(agreement=None, review=None, due_on=None)


VARIANTS["status_request"] = [("nothing_recorded", _nothing_recorded)]
VARIANTS["milestone_due"] = [("single", _single)]
VARIANTS["bounce_notice"] = [("one_address", _one_address)]


def _handed_on(ctx: dict[str, Any]) -> None:
    ctx["handed_by"] = "Jörg O'Neill-Weiß"


VARIANTS["status_check_request"] = [("single", _single), ("handed_on", _handed_on)]
VARIANTS["status_check_escalation_head"] = [("single", _single)]
VARIANTS["status_check_delegation_notice"] = [("single", _single)]
# A colleague's receipt has no correction link; the owner's copy names the colleague (issue 13).
VARIANTS["status_check_confirmation"] = [
    ("colleague", _no_data_correction), ("owners_copy", _owners_copy)
]  # fmt: skip


def cases() -> Iterator[Any]:
    for kind in KINDS:
        for lang in LANGS:
            yield pytest.param(kind, lang, "default", id=f"{kind}-{lang}")
            for name, _ in VARIANTS.get(kind, []):
                yield pytest.param(kind, lang, name, id=f"{kind}-{lang}-{name}")


def context_for(kind: str, lang: str, variant: str) -> dict[str, Any]:
    ctx = sample_context(kind, lang)
    for name, change in VARIANTS.get(kind, []):
        if name == variant:
            change(ctx)
    return ctx


def listed_items(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry for key in ITEM_LISTS for entry in ctx.get(key) or []]


# -- HTML structure ------------------------------------------------------------------------

VOID = {"br", "hr", "meta", "img", "input", "link", "wbr", "col", "area", "base", "source"}


class TagBalance(HTMLParser):
    """Records every unbalanced or mismatched tag; an email client is less forgiving than a browser."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.seen: dict[str, int] = {}
        self.hrefs: list[str] = []
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen[tag] = self.seen.get(tag, 0) + 1
        self.hrefs += [value or "" for name, value in attrs if name == "href"]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


def parse(html: str) -> TagBalance:
    parser = TagBalance()
    parser.feed(html)
    parser.close()
    return parser


URL = re.compile(r"https?://[^\s\"'<>]+")


def allowed_url(url: str) -> bool:
    return url in (FORM_URL, RESET_URL) or url == DASHBOARD or url.startswith(DASHBOARD + "/")


# -- tests ---------------------------------------------------------------------------------


def test_every_kind_has_both_languages_and_nothing_else() -> None:
    expected = {f"{kind}.{lang}.jinja" for kind in KINDS for lang in LANGS}
    expected |= {"_layout.de.jinja", "_layout.en.jinja"}
    assert {p.name for p in TEMPLATES.glob("*.jinja")} == expected


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", LANGS)
def test_templates_read_exactly_the_documented_context_keys(kind: str, lang: str) -> None:
    source = (TEMPLATES / f"{kind}.{lang}.jinja").read_text(encoding="utf-8")
    assert meta.find_undeclared_variables(ENV.parse(source)) == KIND_KEYS[kind]
    template = ENV.get_template(f"{kind}.{lang}.jinja")
    assert set(template.blocks) == set(BLOCKS)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", LANGS)
def test_each_documented_key_is_needed(kind: str, lang: str) -> None:
    """StrictUndefined is in force: leaving out any key the kind reads fails loudly."""
    for key in sorted(KIND_KEYS[kind]):
        ctx = sample_context(kind, lang)
        del ctx[key]
        with pytest.raises(UndefinedError):
            render(kind, lang, ctx)


@pytest.mark.parametrize("kind", [kind for kind in KINDS if ITEM_KEYS[kind]])
def test_each_item_key_the_kind_reads_is_needed_and_no_other(kind: str) -> None:
    every_key = {key for entry in listed_items(sample_context(kind, "de")) for key in entry}
    for key in sorted(every_key):
        ctx = sample_context(kind, "de")
        for entry in listed_items(ctx):
            entry.pop(key, None)
        if key in ITEM_KEYS[kind]:
            with pytest.raises(UndefinedError):
                render(kind, "de", ctx)
        else:
            render(kind, "de", ctx)
    assert ITEM_KEYS[kind] <= every_key


@pytest.mark.parametrize(("kind", "lang", "variant"), list(cases()))
def test_renders_the_contract(kind: str, lang: str, variant: str) -> None:
    ctx = context_for(kind, lang, variant)
    out = render(kind, lang, ctx)
    subject, text, html = out["subject"], out["text"], out["html"]

    assert subject.strip() == subject != ""
    assert "\n" not in subject
    assert text.strip() and html.strip()

    footer = FOOTER[lang].format(
        org=ctx["org_name"], office=ctx["org_office_name"], email=ctx["org_contact_email"]
    )
    assert footer in text
    assert str(escape(footer)) in re.sub(r"\s*<a [^>]*>([^<]*)</a>", r" \1", html)
    address = ctx["org_office_address"]
    if address:
        assert f"{footer}\n{address}\n" in text and f"<br>{escape(address)}</p>" in html
    else:
        assert text.endswith(f"{footer}\n") and "<br></p>" not in html

    # Plain text stays plain: no entities in subject or text, data exactly as given.
    for plain in (subject, text):
        assert not re.search(r"&(amp|lt|gt|quot|#\d+|#x[0-9a-f]+);", plain), plain
    assert text.startswith(f"{ctx['greeting']}\n\n")
    assert f"<p>{escape(ctx['greeting'])}</p>" in html
    shown = [ctx["greeting"]] + [entry["title"] for entry in listed_items(ctx)]
    shown += [ctx[key] for key in ("contact_name", "from_name", "submitted_by") if key in ctx]
    if kind == "dead_letter":
        shown.append(FAILED_RECIPIENT)
        assert FAILED_RECIPIENT in subject
    if kind == "bounce_notice":
        for entry in ctx["addresses"]:
            shown += [entry["email"], entry["since"], entry["reason"]]
            shown += [m["title"] for m in entry["measures"]]
            shown += [d["name"] for d in entry["departments"]]
        assert (BOUNCING in subject) == (len(ctx["addresses"]) == 1)
    for raw in shown:
        assert raw in text
        assert str(escape(raw)) in html
        if any(c in raw for c in "&<>'"):
            assert raw not in html

    for url in (ctx.get("form_url"), ctx.get("reset_url")):
        if url:
            assert url in text
            assert f'<a href="{escape(url)}"' in html
    if (
        kind in ("confirmation_agreement", "confirmation_review", "confirmation_data")
        and not ctx["form_url"]
    ):
        assert FORM_URL not in text and FORM_URL not in html

    for entry in listed_items(ctx):
        assert entry["code"] in text
        assert re.search(rf">\s*{re.escape(str(escape(entry['code'])))}\b", html)  # as content

    # Self-contained HTML: nothing fetched from elsewhere, no link the context did not give.
    lowered = html.lower()
    for banned in ("<img", "<script", "<link", "<style", "<iframe", "src=", "url(", "@import"):
        assert banned not in lowered
    for body in (text, html):
        assert all(allowed_url(url) for url in URL.findall(body)), URL.findall(body)

    page = parse(html)
    assert page.errors == [] and page.stack == []
    assert page.doctype
    assert page.seen.get("html") == page.seen.get("body") == page.seen.get("head") == 1
    assert f'<html lang="{lang}">' in html
    assert "max-width:40em" in html
    for href in page.hrefs:
        assert href.startswith("mailto:") or allowed_url(href)
        if not href.startswith("mailto:"):
            assert escape(href) in html.replace(f'href="{escape(href)}"', "")  # written out too

    assert "\n\n\n\n" not in text
    for body in (subject, text, html):
        assert "None" not in body
    assert not PLURAL_SLIP.search(text) and not PLURAL_SLIP.search(html)


@pytest.mark.parametrize("kind", KINDS)
def test_german_and_english_subjects_differ(kind: str) -> None:
    de = render(kind, "de", sample_context(kind, "de"))
    en = render(kind, "en", sample_context(kind, "en"))
    assert de["subject"] != en["subject"]
    assert de["text"] != en["text"]


@pytest.mark.parametrize("lang", LANGS)
def test_digest_groups_by_department_then_field(lang: str) -> None:
    ctx = sample_context("digest", lang)
    out = render("digest", lang, ctx)
    text, html = out["text"], out["html"]
    # One heading per department and section: the school office has new and still open items.
    for department, groups in ((SCHOOL_DEPT, 2), (JOBCENTER, 1), (PERSONNEL, 1)):
        assert text.count(department) == groups
        assert html.count(str(escape(department))) == groups
    new_section = text.split(JOBCENTER)[0]
    assert new_section.index(SCHOOL_DEPT) < new_section.index("A1.1") < new_section.index("B1.2")
    assert text.index("A1.1") < text.index(JOBCENTER) < text.index("A2.1")
    for entry in listed_items(ctx):
        url = f"{DASHBOARD}/massnahmen/{entry['measure_cycle_id']}"
        assert url in text
        assert f'<a href="{url}"' in html
    assert "KW 12/2026" in out["subject"] and ctx["meeting_label"] in out["subject"]
    assert "jetzt: Umsetzung" in text
    overdue = "seit 23 Tagen überfällig" if lang == "de" else "23 days overdue"
    assert overdue in text and overdue in html


@pytest.mark.parametrize("lang", LANGS)
def test_empty_digest_says_so_plainly(lang: str) -> None:
    ctx = context_for("digest", lang, "empty")
    out = render("digest", lang, ctx)
    plainly = "nichts zu berichten" if lang == "de" else "nothing to report"
    assert plainly in out["text"] and plainly in out["html"]
    assert "massnahmen/" not in out["text"] and SCHOOL_DEPT not in out["text"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", ["confirmation_agreement", "confirmation_review"])
def test_confirmation_copies_multi_line_answers(kind: str, lang: str) -> None:
    ctx = sample_context(kind, lang)
    out = render(kind, lang, ctx)
    label, value = ctx["items"][0]["answers"][1]
    first, second = value.split("\r\n")
    assert f"\n  {label}:\n    {first}\n    {second}\n" in out["text"]
    assert f'white-space:pre-line;">{escape(value)}</dd>' in out["html"]
    assert f"{CONTACT}, " in out["text"] and "Petra Schäfer" in out["text"]
    no_answers = "(keine Angaben)" if lang == "de" else "(no answers)"
    assert no_answers in out["text"] and no_answers in out["html"]

    bare = render(kind, lang, context_for(kind, lang, "no_correction"))
    assert 'href="https' not in bare["html"]
    assert CONTACT in bare["text"] and "Petra Schäfer" not in bare["text"]
    correct = "korrigieren" if lang == "de" else "correct them"
    assert correct in out["text"] and correct not in bare["text"] and correct not in bare["html"]


@pytest.mark.parametrize("lang", LANGS)
def test_password_reset_has_only_the_reset_link(lang: str) -> None:
    out = render("password_reset", lang, sample_context("password_reset", lang))
    assert set(parse(out["html"]).hrefs) == {RESET_URL}
    assert URL.findall(out["text"]) == [RESET_URL]
    ignore = "ignorieren Sie diese E-Mail" if lang == "de" else "ignore this email"
    assert ignore in out["text"] and ignore in out["html"]
    assert ("in 60 Minuten" if lang == "de" else "in 60 minutes") in out["text"]


@pytest.mark.parametrize("lang", LANGS)
def test_escalation_asks_the_head_without_a_form_link(lang: str) -> None:
    ctx = sample_context("escalation_head", lang)
    out = render("escalation_head", lang, ctx)
    assert all(h.startswith("mailto:") for h in parse(out["html"]).hrefs)
    assert URL.findall(out["text"]) == []
    assert CONTACT in out["text"] and "zoe.kraemer@lindenau.de" in out["text"]
    facts = {
        "de": ("seit 41 Tagen überfällig · 1 Erinnerung verschickt", "zwei Wochen"),
        "en": ("41 days overdue · 1 reminder sent", "two weeks"),
    }[lang]
    for fact in facts:
        assert fact in out["text"] and fact in out["html"]


@pytest.mark.parametrize("lang", LANGS)
def test_final_reminder_names_what_happens_after_the_deadline(lang: str) -> None:
    text = render("final_reminder", lang, sample_context("final_reminder", lang))["text"]
    if lang == "de":
        assert "Leitung Ihres Fachbereichs" in text and "Steuerungsgruppe" in text
    else:
        assert "head of your department" in text and "steering group" in text


@pytest.mark.parametrize("lang", LANGS)
def test_deadline_extension_names_the_single_new_date_in_the_subject(lang: str) -> None:
    mixed = render("deadline_extended", lang, sample_context("deadline_extended", lang))
    same = render(
        "deadline_extended", lang, context_for("deadline_extended", lang, "same_date_no_reason")
    )
    assert DATES[lang]["apr30"] in same["subject"]
    assert DATES[lang]["apr30"] not in mixed["subject"]
    assert "Personalwechsel & Urlaubszeit im Amt" in mixed["text"]
    assert "Personalwechsel" not in same["text"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_failed_render_leaves_later_renders_unchanged(kind: str) -> None:
    """An error inside a text macro must not leak its `autoescape false` into later emails."""
    for lang in LANGS:
        before = render(kind, lang, sample_context(kind, lang))
        broken = sample_context(kind, lang)
        del broken["org_name"]  # read last, inside the text footer macro
        with pytest.raises(UndefinedError):
            render(kind, lang, broken)
        assert render(kind, lang, sample_context(kind, lang)) == before


def test_layout_is_imported_with_context_everywhere() -> None:
    for path in TEMPLATES.glob("[!_]*.jinja"):
        imports = re.findall(r"{%\s*import [^%]*%}", path.read_text(encoding="utf-8"))
        assert imports, path.name
        assert all(i.rstrip("%} ").endswith("with context") for i in imports), path.name


@pytest.mark.parametrize("lang", LANGS)
def test_an_assignment_request_says_why_it_comes_again(lang: str) -> None:
    first = render("assignment_request", lang, sample_context("assignment_request", lang))
    extended = render(
        "assignment_request", lang, context_for("assignment_request", lang, "extended")
    )
    reissued = render(
        "assignment_request", lang, context_for("assignment_request", lang, "reissued")
    )
    assert len({first["subject"], extended["subject"], reissued["subject"]}) == 3
    assert DATES[lang]["apr15"] in first["subject"] and DATES[lang]["apr15"] in extended["subject"]
    older = "ältere Links gelten nicht mehr" if lang == "de" else "older links no longer work"
    assert older in reissued["text"] and older not in first["text"]
    extension = "wurde verlängert" if lang == "de" else "has been extended"
    assert extension in extended["text"] and extension in extended["html"]


@pytest.mark.parametrize("lang", LANGS)
def test_the_final_assignment_reminder_names_the_head_and_the_body(lang: str) -> None:
    out = render(
        "assignment_final_reminder", lang, sample_context("assignment_final_reminder", lang)
    )
    words = ("Leitung Ihres Fachbereichs", "Gremium, das ihn erteilt hat")
    if lang == "en":
        words = ("head of your department", "body that set it")
    for word in words:
        assert word in out["text"] and word in out["html"]


@pytest.mark.parametrize("lang", LANGS)
def test_an_assignment_escalation_has_no_form_link_and_names_the_contact(lang: str) -> None:
    ctx = sample_context("assignment_escalation_head", lang)
    out = render("assignment_escalation_head", lang, ctx)
    assert all(h.startswith("mailto:") for h in parse(out["html"]).hrefs)
    assert URL.findall(out["text"]) == []
    overdue = "seit 23 Tagen überfällig" if lang == "de" else "23 days overdue"
    assert overdue in out["text"] and CONTACT in out["subject"]


@pytest.mark.parametrize("lang", LANGS)
def test_an_assignment_confirmation_copies_a_multi_line_answer(lang: str) -> None:
    ctx = sample_context("assignment_confirmation", lang)
    out = render("assignment_confirmation", lang, ctx)
    first, second = ctx["items"][0]["answer"].split("\r\n")
    assert f"\n    {first}\n    {second}\n" in out["text"]
    assert f'white-space:pre-line;">{escape(ctx["items"][0]["answer"])}</dd>' in out["html"]
    assert ctx["items"][0]["status_label"] in out["text"]


@pytest.mark.parametrize("lang", LANGS)
def test_a_status_request_names_the_asker_and_copies_what_is_recorded(lang: str) -> None:
    ctx = sample_context("status_request", lang)
    out = render("status_request", lang, ctx)
    text, html = out["text"], out["html"]
    asks = "bittet Sie um den aktuellen Sachstand" if lang == "de" else "asks you for the current"
    assert f"Jörg O'Neill-Weiß (Begleitgremium Integration & Teilhabe) {asks}" in text
    assert "A1.1" in out["subject"]
    assert "  Wie steht es um die Kurse?\n  Bitte vor der Sitzung <am 18.03.>." in text
    assert "Bitte vor der Sitzung &lt;am 18.03.&gt;." in html and "<am 18.03.>" not in html
    agreement = "Zielvereinbarung 2026:" if lang == "de" else "Target agreement 2026:"
    assert agreement in text
    label, value = ctx["items"][0]["agreement"]["pairs"][0]
    first, second = value.split("\n")
    assert f"    {label}:\n      {first}\n      {second}\n" in text
    assert "Raumnot & <Personalwechsel>" in text and "Raumnot &amp; &lt;Personalwechsel&gt;" in html
    assert "2025" in text and "integration@lindenau.de" in text
    assert 'href="mailto:integration@lindenau.de"' in html

    bare = render("status_request", lang, context_for("status_request", lang, "nothing_recorded"))
    missing = "liegt noch nicht vor" if lang == "de" else "There is no target agreement yet."
    assert missing in bare["text"] and missing in bare["html"]
    assert "Begleitgremium" not in bare["text"] and "()" not in bare["text"]
    assert ("Ihre Antwort geht an" if lang == "de" else "Your reply goes to") not in bare["text"]
