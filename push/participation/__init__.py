"""Mitmach-Aktionen: a campaign notification that invites photos, e.g. the "Wunschfenster".

Until its end date, an app installation sends photos with a short text and its consent to publication
(``services.submission_create``); the communication team moderates them in the workspace (``admin``);
approved ones appear in a public gallery (``selectors.gallery_queryset``) and in a ZIP for the city's other
channels (``archive``). Withdrawing consent from the app erases the photo everywhere.

Models are declared in ``models`` and registered through ``push.models``; this package belongs to push and
imports no other app of ours.
"""
