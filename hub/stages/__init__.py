"""The stages of a sync, each a plain function over a run id (callable from CLI, tests and Airflow).

extract -> validate -> load hand data over through the landing zone, never through memory.
"""

from hub.stages.extract import ExtractInfo, extract
from hub.stages.load import LoadInfo, load
from hub.stages.sync import SyncInfo, sync
from hub.stages.validate import ValidateInfo, validate

__all__ = ["ExtractInfo", "LoadInfo", "SyncInfo", "ValidateInfo", "extract", "load", "sync", "validate"]
