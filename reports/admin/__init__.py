"""The staff workspace of the Mängelmelder: the triage queue, a report's page and the catalogue.

Triage staff see the reports of their departments (``reports_for_staff``), Administration sees all. A
report's page shows the place on a map, the photos and the whole history; its workflow area changes the
status (the reporter's phone is told), replies, notes, assigns and moderates. Every such write goes
through ``reports.services``: the admin itself never saves a workflow field, and a service's refusal is
shown on the field it concerns. Departments, categories (with their questions) and Stadtteil boundaries
are maintained by Administration.

- ``triage``: the queue, a report's page, the bulk actions (``triage_forms``: the forms behind them);
- ``triage_map``: the overview map of open reports and its data; the settings every map is drawn with;
- ``reply_templates``: the departments' reply templates ("Textbausteine");
- ``catalogue``: departments, categories and their questions, Stadtteil boundaries;
- ``alerts``: "My notifications" (each member's e-mail alerts) and the overdue count on the index.
"""

from __future__ import annotations

# Importing the modules registers their ModelAdmins with the admin site.
from reports.admin import alerts, catalogue, reply_templates, triage

__all__ = ["alerts", "catalogue", "reply_templates", "triage"]
