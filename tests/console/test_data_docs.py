"""The Data Docs after localise_site: every fetched resource local, anchors untouched, nothing left that
would ask a host; on the county's real site too (built by its syncs)."""

from __future__ import annotations

import re
from pathlib import Path

from hub.quality.docs import docs_folder, localise_site

FETCH = re.compile(r"""(?:\bsrc\s*=\s*|<link\b[^>]*?\bhref\s*=\s*|url\(\s*)["']?(https?:)?//""", re.I)


def test_a_page_points_at_vendored_files(tmp_path: Path) -> None:
    page = tmp_path / "validations" / "s" / "r" / "x.html"
    page.parent.mkdir(parents=True)
    page.write_text('<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>'
                    '<script src="https://code.jquery.com/jquery-3.7.1.min.js" integrity="sha384-x" crossorigin="anonymous">'
                    '</script><script src="https://cdn.example.org/unknown.js"></script>'
                    '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1&dataContextId=9">'
                    '<link rel="shortcut icon" href="../static/images/favicon.ico"/>'
                    '<a href="https://greatexpectations.io">GX</a>', encoding="utf-8")
    dropped = localise_site(tmp_path)
    text = page.read_text(encoding="utf-8")
    assert dropped == ["https://cdn.example.org/unknown.js"]
    assert not FETCH.search(text) and "integrity" not in text and "dataContextId" not in text
    assert 'href="../../../static/vendor/bootstrap/bootstrap.min.css"' in text
    assert 'href="../../../static/images/favicon.ico"' in text  # GX links it a level short
    assert '<a href="https://greatexpectations.io">' in text  # a link fetches nothing
    for ref in re.findall(r'(?:src|href)="(\.\./[^"]+/vendor/[^"]+)"', text):
        assert (page.parent / ref).resolve().is_file(), ref
    localise_site(tmp_path)  # idempotent: a second pass changes nothing
    assert page.read_text(encoding="utf-8") == text


def test_the_countys_site_asks_no_host(county) -> None:  # type: ignore[no-untyped-def]
    site = docs_folder(county.ctx) / "site"
    pages = list(site.rglob("*.html"))
    assert pages
    offenders = {str(p.relative_to(site)) for p in pages if FETCH.search(p.read_text(encoding="utf-8"))}
    assert not offenders, sorted(offenders)[:5]
