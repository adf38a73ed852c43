from __future__ import annotations

from celery import shared_task

from reports import services


@shared_task(name="reports.tasks.erase_contact_after_retention", ignore_result=True)
def erase_contact_after_retention() -> int:
    return services.reports_erase_contact_after_retention()
