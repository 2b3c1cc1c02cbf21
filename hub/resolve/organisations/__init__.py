"""Organisations: names as departments write them (``names``), where a mention sits (``places``), the
register a mention is matched against in three bands (``register``), linking (``linking``) and the
golden record (``golden``)."""

from hub.resolve.organisations.golden import KEY_UNIT, golden_org
from hub.resolve.organisations.linking import is_unit, link_orgs
from hub.resolve.organisations.names import Divisions, OrgName, canonical, relation
from hub.resolve.organisations.places import places, township_names

__all__ = ["KEY_UNIT", "Divisions", "OrgName", "canonical", "golden_org", "is_unit", "link_orgs", "places",
           "relation", "township_names"]
