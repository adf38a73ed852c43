"""The Mängelmelder's app and public API, by audience (the staff API is ``reports.api.staff_views``).

- ``public``: what can be reported, the open-data list and detail, the figures for city hall, and filing
  (``POST`` on the same collection);
- ``exports``: the open-data list as GeoJSON and CSV, cached per normalised filter set, own rate limit;
- ``app``: what an app installation does besides filing: nearby reports, "me too", its own reports.
"""
