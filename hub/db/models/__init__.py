"""All tables of the unified store; importing this module registers them on ``Base.metadata``."""

from hub.db.models.access import ApiKey, AuditEntry
from hub.db.models.console import ConsoleAction, ConsoleSession, ConsoleUser
from hub.db.models.events import Event, EventParty, OrganizationTag
from hub.db.models.evidence import AddressEvidence
from hub.db.models.grid import Building, GridCell
from hub.db.models.ops import (
    ChangeFeed,
    EntityLink,
    EntityRedirect,
    MatchReview,
    QuarantinedRow,
    Run,
    RunStream,
    SourceRecord,
    StreamState,
)
from hub.db.models.organisations import Inspection, Organization
from hub.db.models.people import Household, Person, PersonTag, SpecialStatus, WelfareEnrolment

__all__ = [
    "AddressEvidence", "ApiKey", "AuditEntry", "Building", "ConsoleAction", "ConsoleSession", "ConsoleUser", "ChangeFeed", "EntityLink", "EntityRedirect", "Event", "EventParty",
    "GridCell", "Household", "Inspection", "MatchReview", "Organization", "Person", "PersonTag",
    "OrganizationTag", "QuarantinedRow", "Run", "RunStream", "SourceRecord", "SpecialStatus", "StreamState", "WelfareEnrolment",
]
