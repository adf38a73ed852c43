from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _crud(model: str) -> list[str]:
    return [f"{action}_{model}" for action in ("add", "change", "delete", "view")]


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Mängelmelder")
    role_permissions: dict[str, list[str]] = {
        # Reply templates: of their own departments only (reports/admin/reply_templates.py).
        "Triage": [
            "view_report",
            "change_report",
            "view_category",
            "view_reportevent",
            "view_department",
            *_crud("replytemplate"),
        ],
        "Administration": [
            *_crud("report"),
            *_crud("category"),
            *_crud("categoryquestion"),
            *_crud("department"),
            *_crud("district"),
            *_crud("replytemplate"),
            "view_reportevent",
        ],
    }

    def ready(self) -> None:
        from push.links import LinkParameter, register_link
        from push.registry import category_is_registered, register_category
        from push.signals import installation_erasing

        if not category_is_registered("report_update"):
            register_category(
                key="report_update",
                name={"de": "Meine Meldungen", "en": "My reports", "tr": "Bildirimlerim"},
                description={
                    "de": "Wenn sich der Stand Ihrer Meldung ändert.",
                    "en": "When your report changes.",
                    "tr": "Bildiriminizin durumu değiştiğinde.",
                },
            )
        register_link(
            key="report",
            template="casapp://reports/{id}",
            name={"de": "Meldung", "en": "Report", "tr": "Bildirim"},
            description={
                "de": "Eine Meldung im Mängelmelder, mit ihrem Stand.",
                "en": "A report of the Mängelmelder, with its status.",
                "tr": "Arıza bildirim servisindeki (Mängelmelder) bir bildirim ve durumu.",
            },
            parameters=[
                LinkParameter(
                    "id", {"de": "Nummer der Meldung", "en": "Report number", "tr": "Bildirim numarası"}
                )
            ],
            exists=_report_is_public,
            suggestions=_recent_reports,
        )
        installation_erasing.connect(_unlink_reports, dispatch_uid="reports.unlink_installation")


def _report_is_public(id: str) -> bool:
    from reports.selectors import reports_public

    return reports_public().filter(pk=int(id)).exists()


def _recent_reports() -> list[tuple[str, str]]:
    """The newest public reports, to link a push to in the workspace."""
    from reports.selectors import reports_public

    recent = reports_public().order_by("-created_at")[:30]
    return [(str(r.pk), f"#{r.pk} {r.category.name_de}, {r.address}".rstrip(", ")) for r in recent]


def _unlink_reports(sender: Any, installation: Any, **kwargs: Any) -> None:
    from reports.services import reports_unlink_installation

    reports_unlink_installation(installation=installation)
