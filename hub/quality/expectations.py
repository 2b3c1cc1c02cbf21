"""Contracts compiled into Great Expectations 1.x suites, and the runner that finds failing rows.

Generic checks become GX's own expectations (not-null, unique, in-set, regex, between); domain
checks registered through ``register_checks`` run as one custom expectation,
``ExpectColumnValuesToPassHubCheck``, backed by a registered column-map metric. Each
expectation carries ``meta = {check, reason, column, severity, rule}`` so a result maps back to
a reason; ``result_format="COMPLETE"`` gives ``unexpected_index_list``, the failing rows.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

import pandas as pd

from hub.contracts import StreamContract
from hub.errors import ConfigError
from hub.quality import suite_plan
from hub.quality.checks import CheckEnv, DomainCheck
from hub.quality.columns import KEY
from hub.quality.suite_plan import Failure

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402
from great_expectations.execution_engine import PandasExecutionEngine  # noqa: E402
from great_expectations.expectations.expectation import ColumnMapExpectation  # noqa: E402
from great_expectations.expectations.metrics.map_metric_provider import (  # noqa: E402
    ColumnMapMetricProvider,
    column_condition_partial,
)

log = logging.getLogger(__name__)
KEY_COLUMN = KEY

GENERIC = suite_plan.GENERIC


@dataclass
class Binding:
    """What the custom metric needs beyond the column: the batch, the env, the checks."""

    frame: pd.DataFrame
    env: CheckEnv
    checks: dict[str, DomainCheck]


_BINDINGS: dict[str, Binding] = {}


class ColumnValuesPassHubCheck(ColumnMapMetricProvider):
    """The metric behind every domain check: True where the registered check passes."""

    condition_metric_name = "column_values.hub_check"
    condition_value_keys = ("check", "binding", "options")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, check: str, binding: str, options: dict[str, Any] | None = None,
                **kwargs: Any) -> pd.Series:
        bound = _BINDINGS[binding]
        return bound.checks[check].mask(column, bound.frame, bound.env, dict(options or {}))


class ExpectColumnValuesToPassHubCheck(ColumnMapExpectation):
    """Expect each non-null value of the column to pass a registered gridhub domain check."""

    check: str
    binding: str = "default"
    options: dict[str, Any] = {}

    map_metric: ClassVar[str] = "column_values.hub_check"
    success_keys: ClassVar[tuple[str, ...]] = ("check", "binding", "options", "mostly")


@cache
def gx_context() -> Any:
    """One ephemeral context per process, progress bars off (stages run unattended)."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


def activate() -> Any:
    """Make our ephemeral context GX's current project (a Data Docs build switches it)."""
    from great_expectations.data_context.data_context.context_factory import project_manager

    ctx = gx_context()
    project_manager.set_project(ctx)
    return ctx


@cache
def _batch_definition() -> Any:
    return (gx_context().data_sources.add_pandas("gridhub").add_dataframe_asset("canonical")
            .add_batch_definition_whole_dataframe("batch"))


def _validator(frame: pd.DataFrame) -> Any:
    """The validator ``batch.validate`` would build, built without ``get_batch`` first: that call loads
    the batch a second time (and GX fingerprints every load with ``hash_pandas_object``, ~10% of a
    20,000-row validation) only to hand its request to a new validator. Same batch request, same
    result (tests/quality/test_gx_batches.py compares the two)."""
    from great_expectations.validator.v1_validator import Validator

    return Validator(batch_definition=_batch_definition(), batch_parameters={"dataframe": frame},
                     result_format="COMPLETE")


def suite_name(contract: StreamContract) -> str:
    return f"{contract.source}.{contract.stream}"


_SUITES: dict[tuple[Any, ...], gx.ExpectationSuite] = {}


def compile_suite(contract: StreamContract, checks: dict[str, DomainCheck]) -> gx.ExpectationSuite:
    """The contract's generic and domain checks as one suite, compiled once per contract."""
    key = (id(contract), str(contract.path), contract.stream, tuple(sorted(checks)))
    if key not in _SUITES:
        activate()
        _SUITES[key] = _compile(contract, checks)
    return _SUITES[key]


def _compile(contract: StreamContract, checks: dict[str, DomainCheck]) -> gx.ExpectationSuite:
    """The plan (hub.quality.suite_plan) as GX expectations, in the plan's order."""
    E = gx.expectations
    suite = gx.ExpectationSuite(name=suite_name(contract))
    binding = suite_name(contract)
    for p in suite_plan.plan(contract, checks):
        if p.kind == "not_null":
            suite.add_expectation(E.ExpectColumnValuesToNotBeNull(column=p.column, meta=p.meta))
        elif p.kind == "unique":
            suite.add_expectation(E.ExpectColumnValuesToBeUnique(column=p.column, meta=p.meta))
        elif p.kind == "in_set":
            suite.add_expectation(E.ExpectColumnValuesToBeInSet(column=p.column, value_set=p.kwargs["value_set"],
                                                                meta=p.meta))
        elif p.kind == "regex":
            suite.add_expectation(E.ExpectColumnValuesToMatchRegex(column=p.column, regex=p.kwargs["regex"],
                                                                   meta=p.meta))
        elif p.kind == "between":
            suite.add_expectation(E.ExpectColumnValuesToBeBetween(column=p.column, min_value=p.kwargs["min_value"],
                                                                  max_value=p.kwargs["max_value"], meta=p.meta))
        else:
            suite.add_expectation(ExpectColumnValuesToPassHubCheck(
                column=p.column, check=p.kwargs["check"], binding=binding, options=p.kwargs["options"], meta=p.meta))
    return suite


def suite_columns(suite: gx.ExpectationSuite) -> set[str]:
    """Columns the suite reads (plus any ``id_column`` a domain check looks at)."""
    cols: set[str] = set()
    for exp in suite.expectations:
        cols.add(exp.column)  # type: ignore[attr-defined]
        opts = getattr(exp, "options", None) or {}
        if "id_column" in opts:
            cols.add(str(opts["id_column"]))
        elif getattr(exp, "check", None) == "birth_date_matches_id":
            cols.add("citizen_id")
    return cols


def run_suite(suite: gx.ExpectationSuite, frame: pd.DataFrame, env: CheckEnv,
              checks: dict[str, DomainCheck]) -> tuple[Any, list[Failure]]:
    """Validate one canonical batch; the failing row positions of every expectation."""
    _BINDINGS[suite.name] = Binding(frame=frame, env=env, checks=checks)
    activate()
    try:
        result = _validator(frame).validate_expectation_suite(suite)
    finally:
        _BINDINGS.pop(suite.name, None)
    failures: list[Failure] = []
    for res in result.results:
        if res.exception_info and res.exception_info.get("raised_exception"):
            raise ConfigError(f"suite {suite.name}: expectation {res.expectation_config.type} on "
                              f"{res.expectation_config.kwargs.get('column')!r} could not run: "
                              f"{res.exception_info.get('exception_message')}")
        idx = res.result.get("unexpected_index_list") or []
        if idx:
            failures.append(Failure(rows=[int(i) for i in idx], meta=dict(res.expectation_config.meta or {})))
    return result, failures
