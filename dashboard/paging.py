"""Links of a keyset-paged list: "next" carries the page's cursor, "first" drops it; other query args stay."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from tenants.data_browser import GridPage


@dataclass(frozen=True)
class PageLinks:
    next_url: str  # "" on the last page
    first_url: str
    paged: bool  # past the first page: show "First page"


def page_links(request: HttpRequest, page: GridPage | None, param: str = "after") -> PageLinks:
    """The next and first page links of ``page``, whose cursor travels in the query argument ``param``."""
    next_query, first_query = request.GET.copy(), request.GET.copy()
    first_query.pop(param, None)
    next_url = ""
    if page is not None and page.next_cursor:
        next_query[param] = page.next_cursor
        next_url = f"?{next_query.urlencode()}"
    return PageLinks(next_url=next_url, first_url=f"?{first_query.urlencode()}", paged=bool(request.GET.get(param)))
