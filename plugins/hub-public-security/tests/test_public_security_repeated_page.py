"""Issue 18 item 3: a server that serves the same page again is stopped at the second repeat,
with an error naming the endpoint and the page (it used to take ~16,700 requests)."""

from __future__ import annotations

from typing import Any

import pytest

from hub.errors import SourceError

from .test_public_security_vendor_quirks import VendorApi, api, person, read_keys  # noqa: F401

assert api  # the fixture, imported for pytest


class IgnoresPaging(VendorApi):
    """Answers every request with its first page, whatever page and updated_since ask for."""

    def page(self, stream: str, since: str | None, page: int, size: int) -> dict[str, Any]:
        return super().page(stream, None, 1, size)


@pytest.fixture
def stubborn(api: VendorApi) -> VendorApi:  # noqa: F811
    api.__class__ = IgnoresPaging
    return api


def test_same_page_again_is_detected_at_the_second_repeat(stubborn: VendorApi) -> None:
    stubborn.records["floating-persons"] = [person(1000 + i, f"2026-03-0{1 + i // 10}T08:00:{i % 60:02d}")
                                            for i in range(40)]
    with pytest.raises(SourceError) as err:
        read_keys(stubborn, "floating-persons", page_size=10)
    message = str(err.value)
    assert "/floating-persons" in message and "same page again for page 2" in message
    assert len(stubborn.log) == 3  # the first read, one legitimate repeat, the second repeat


def test_one_repeat_alone_is_not_an_error(api: VendorApi) -> None:  # noqa: F811
    # a bulk update: more than a page of records in one second makes the next window's page 1 the same page
    api.records["floating-persons"] = [person(2000 + i, "2026-03-01T08:00:00") for i in range(25)]
    keys, _ = read_keys(api, "floating-persons", page_size=10)
    assert sorted(keys) == [str(2000 + i) for i in range(25)] or sorted(keys) == list(range(2000, 2025))
