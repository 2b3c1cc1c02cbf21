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
from hub.quality.checks import CheckEnv, DomainCheck
from hub.quality.columns import KEY

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

# generic checks a contract may name, compiled to GX's own expectations, and their reason codes
GENERIC = {"not_null": "required", "required": "required", "unique": "duplicate_key", "enum": "enum",
           "in_set": "enum", "regex": "format", "between": "range", "range": "range"}


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
    E = gx.expectations
    suite = gx.ExpectationSuite(name=suite_name(contract))
    binding = suite_name(contract)
    for col in contract.columns:
        if col.required:
            suite.add_expectation(E.ExpectColumnValuesToNotBeNull(
                column=col.name, meta=_meta("required", "required", col.name, "error", "required")))
    if contract.primary_key:
        suite.add_expectation(E.ExpectColumnValuesToBeUnique(
            column=KEY_COLUMN, meta=_meta("duplicate_key", "duplicate_key", "source_key", "error", "key unique")))
    for rule in contract.rules:
        where = f"contract {contract.path.name}"
        if rule.column is None or rule.column not in {c.name for c in contract.columns}:
            raise ConfigError(f"{where}: check {rule.check!r} names no column of the contract ({rule.column!r})")
        meta_args = (rule.column, rule.severity, rule.name)
        kw = rule.kwargs
        if rule.check in GENERIC:
            reason = str(kw.get("reason") or GENERIC[rule.check])
            meta = _meta(rule.check, reason, *meta_args)
            if reason == "required":
                suite.add_expectation(E.ExpectColumnValuesToNotBeNull(column=rule.column, meta=meta))
            elif reason == "duplicate_key":
                suite.add_expectation(E.ExpectColumnValuesToBeUnique(column=rule.column, meta=meta))
            elif reason == "enum" or rule.check in ("enum", "in_set"):
                suite.add_expectation(E.ExpectColumnValuesToBeInSet(
                    column=rule.column, value_set=list(kw.get("value_set") or kw.get("values") or []), meta=meta))
            elif rule.check == "regex":
                suite.add_expectation(E.ExpectColumnValuesToMatchRegex(column=rule.column, regex=kw["regex"],
                                                                       meta=meta))
            else:
                suite.add_expectation(E.ExpectColumnValuesToBeBetween(
                    column=rule.column, min_value=kw.get("min"), max_value=kw.get("max"), meta=meta))
            continue
        check = checks.get(rule.check)
        if check is None:
            raise ConfigError(f"{where}: unknown check {rule.check!r} (registered: {', '.join(sorted(checks))}; "
                              f"generic: {', '.join(sorted(GENERIC))})")
        suite.add_expectation(ExpectColumnValuesToPassHubCheck(
            column=rule.column, check=rule.check, binding=binding, options=dict(kw),
            meta=_meta(rule.check, check.reason_code, *meta_args)))
    return suite


def _meta(check: str, reason: str, column: str, severity: str, rule: str) -> dict[str, Any]:
    return {"check": check, "reason": reason, "column": column, "severity": severity, "rule": rule}


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


@dataclass
class Failure:
    rows: list[int]  # positions in the frame
    meta: dict[str, Any]


def run_suite(suite: gx.ExpectationSuite, frame: pd.DataFrame, env: CheckEnv,
              checks: dict[str, DomainCheck]) -> tuple[Any, list[Failure]]:
    """Validate one canonical batch; the failing row positions of every expectation."""
    _BINDINGS[suite.name] = Binding(frame=frame, env=env, checks=checks)
    activate()
    try:
        batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(suite, result_format="COMPLETE")
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
