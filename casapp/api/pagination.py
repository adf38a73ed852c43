"""Pagination: cursor-based by default.

Lists of this API grow while people page through them (reports arrive, inbox items are added). A cursor
keeps pages stable under those inserts and costs the same on page 1 and page 10,000 of a million rows,
where page numbers need a ``COUNT(*)`` and an ``OFFSET`` that grow with the table.
"""

from __future__ import annotations

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-created_at"
