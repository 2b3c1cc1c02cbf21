"""GX Data Docs for stewards, built per run.

The gate validates in an ephemeral context (fast, nothing on disk); at the end of a run each
stream's batch results are merged into one GX validation result, scrubbed of PII (no clear ID
or phone may reach an HTML page) and stored in a file-mode GX project whose Data Docs site is
rebuilt for the new results. A run the sync checked without GX (``hub.quality.suite_plan``) gets its
page from the quality pass instead (``hub.quality.deferred``). Location: ``data_docs`` in hub.yaml if set, else
``<landing>/../data-docs/``; the site's entry page is ``<folder>/site/index.html``.

GX's pages load their scripts, styles and fonts from public CDNs (and a logo from S3 that carries the
data context's id): on a closed county network they came up blank. After every build the site is
localised (``localise_site``): the same files, vendored in ``docs_assets/``, are copied into the
site and every page points at them; anything else from outside is dropped.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

from hub.context import HubContext
from hub.privacy.files import private_tree
from hub.quality.expectations import activate

log = logging.getLogger(__name__)
MAX_LISTED = 20
ASSETS = Path(__file__).parent / "docs_assets"
# what GX 1.24's templates load from outside, by the path after the host (the CDN hosts are GX's
# choice, never asked) -> the vendored file (relative to <site>/static/vendor/)
LOCAL = {
    "bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/bootstrap.min.js",
    "jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper/popper.min.js",
    "bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/bootstrap-table-filter-control.min.js",
    "ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/bootstrap-datepicker.min.css",
    "ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/bootstrap-datepicker.min.js",
    "npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": "bootstrap-dark/bootstrap-prefers-dark.css",
    "npm/vega@5": "vega/vega.min.js",
    "npm/vega-lite@5": "vega-lite/vega-lite.min.js",
    "npm/vega-embed@6": "vega-embed/vega-embed.min.js",
}
# GX's logos from S3 (one with the data context's id in its query) -> GX's own copy inside the site
LOGOS = re.compile(r"https://[^\s\"'/)]+\.s3[^\s\"')]*?/(?:full_logo_dark|logo-long)\.png[^\s\"')]*")
# a resource the page would fetch: src=, <link href=, CSS url(); anchors (<a href>) fetch nothing
FETCHED = re.compile(r"""(?P<pre>(?:\bsrc\s*=\s*|<link\b[^>]*?\bhref\s*=\s*|url\(\s*)["']?)(?P<url>https?://[^"'\s)>]+)""",
                     re.IGNORECASE)
# the site's own files, which GX links one level short from validation pages (its favicon 404s there)
SITE_STATIC = re.compile(r"""(?P<pre>\b(?:src|href)\s*=\s*["'])(?:\./|(?:\.\./)+)static/""", re.IGNORECASE)
INTEGRITY = re.compile(r"""\s(?:integrity|crossorigin)\s*=\s*("[^"]*"|'[^']*'|\S+)""")
_LIST_KEYS = ("partial_unexpected_list", "unexpected_list", "partial_unexpected_counts",
              "partial_unexpected_index_list", "unexpected_index_list", "unexpected_index_query")


def docs_folder(ctx: HubContext) -> Path:
    configured = getattr(ctx.config, "data_docs", None)
    if configured:
        return ctx.config.resolve_path(configured)
    return ctx.landing.parent / "data-docs"


def site_index(ctx: HubContext) -> Path:
    return docs_folder(ctx) / "site" / "index.html"


def _file_context(folder: Path) -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    folder.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = gx.get_context(mode="file", project_root_dir=str(folder))
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    site = {"class_name": "SiteBuilder", "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(folder / "site")},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}}
    sites = ctx.variables.data_docs_sites or {}
    if sites.get("local_site") != site:
        if "local_site" in sites:
            ctx.update_data_docs_site("local_site", site)
        else:
            ctx.add_data_docs_site("local_site", site)
    return ctx


def merge(results: list[Any], pii_columns: set[str]) -> Any:
    """Batch results of one stream as one: counts summed, value lists capped, PII values removed."""
    merged = copy.deepcopy(results[0])
    for i, res in enumerate(merged.results):
        counts = {"element_count": 0, "unexpected_count": 0, "missing_count": 0}
        success = True
        for other in results:
            r = other.results[i]
            success = success and bool(r.success)
            for k in counts:
                counts[k] += int(r.result.get(k) or 0)
        res.success = success
        res.result.update({k: v for k, v in counts.items() if k in res.result or k != "missing_count"})
        if counts["element_count"]:
            res.result["unexpected_percent"] = 100.0 * counts["unexpected_count"] / counts["element_count"]
        column = res.expectation_config.kwargs.get("column")
        for key in _LIST_KEYS:
            if key not in res.result:
                continue
            if column in pii_columns or key in ("unexpected_index_query",):
                res.result.pop(key)
            elif isinstance(res.result[key], list):
                res.result[key] = res.result[key][:MAX_LISTED]
    ok = sum(1 for r in merged.results if r.success)
    merged.success = ok == len(merged.results)
    merged.statistics.update({"evaluated_expectations": len(merged.results), "successful_expectations": ok,
                              "unsuccessful_expectations": len(merged.results) - ok,
                              "success_percent": 100.0 * ok / len(merged.results) if merged.results else None})
    return merged


def build_data_docs(ctx: HubContext, source: str, run_id: str, validations: dict[str, list[Any]]) -> str | None:
    """Store this run's results in the docs project and render them; the site's index path."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    streams = {s: v for s, v in validations.items() if v}
    if not streams:
        return None
    folder = docs_folder(ctx)
    gx_ctx = _file_context(folder)
    keys = []
    connector = ctx.connector_name(source)
    for stream, results in streams.items():
        contract = ctx.contracts.get(connector, stream)
        pii = {c.name for c in contract.columns if c.is_pii} | {"_source_key"}
        merged = merge(results, pii)
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=f"{source}.{stream}"),
            run_id=RunIdentifier(run_name=run_id, run_time=_run_time(run_id)), batch_identifier=f"{source}-{stream}".replace("/", "_"))
        gx_ctx.validation_results_store.set(key, merged)
        keys.append(key)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gx_ctx.build_data_docs(resource_identifiers=keys)
    finally:
        activate()  # give the gate its ephemeral context back
    localise_site(folder / "site")
    return str(site_index(ctx))


def rebuild_site(ctx: HubContext) -> Path | None:
    """Re-render the whole site from the stored results (the quality DAG); None before any run."""
    folder = docs_folder(ctx)
    if not folder.exists():
        return None
    gx_ctx = _file_context(folder)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gx_ctx.build_data_docs()
    finally:
        activate()
    localise_site(folder / "site")
    return site_index(ctx)


def _run_time(run_id: str) -> Any:
    """The run's start from its id (``20261129T141233-3f9a``): GX would otherwise read ``-3f9a`` as a zone."""
    import datetime as dt

    try:
        return dt.datetime.strptime(run_id[:15], "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return dt.datetime.now(dt.UTC)


def localise_site(site: Path) -> list[str]:
    """Point every page of a built Data Docs site at vendored copies; returns what was dropped.

    Integrity/crossorigin attributes go (they would make a browser refuse a file:// copy); a resource
    from outside that is not vendored is dropped (and logged), so no page asks a host for anything.
    """
    if not site.is_dir():
        return []
    target = site / "static" / "vendor"
    shutil.copytree(ASSETS, target, dirs_exist_ok=True)
    private_tree(site.parent)  # copytree keeps the package's 0644/0755: the docs are the county's, 0600/0700
    dropped: list[str] = []
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        vendor = os.path.relpath(target, page.parent).replace(os.sep, "/")
        static = os.path.relpath(site / "static", page.parent).replace(os.sep, "/")
        images = f"{static}/images"

        def local(m: re.Match[str], vendor: str = vendor) -> str:
            url = m.group("url")
            path = url.split("://", 1)[1].partition("/")[2]
            if path in LOCAL:
                return m.group("pre") + f"{vendor}/{LOCAL[path]}"
            dropped.append(url)
            return m.group("pre") + "data:,"

        new = LOGOS.sub(f"{images}/logo-long.png", text)
        new = INTEGRITY.sub("", FETCHED.sub(local, new))
        new = SITE_STATIC.sub(lambda m, static=static: f"{m.group('pre')}{static}/", new)
        if new != text:
            page.write_text(new, encoding="utf-8")
    for url in sorted(set(dropped)):
        log.warning("data docs: dropped %s (not vendored in hub/quality/docs_assets)", url)
    return sorted(set(dropped))
