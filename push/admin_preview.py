"""What the workspace shows before a notification goes out: the lock screens it will appear on, what FCM
would refuse, and how many installations it reaches; and the form fields that choose its image and link.

The rules live here, in Python, once: the form's script (``push/static/push/admin/notification_preview.js``)
only sends the form to ``preview_view`` as the person types and puts the HTML it answers in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, cast

from django import forms
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from casapp.city import STADTTEILE
from casapp.errors import DomainError
from push import links
from push.fanout.pacing import CACHE_UNREACHABLE
from push.models import AudienceKind, Notification, NotificationKind, NotificationStatus, PushImage, Topic
from push.selectors import AudienceEstimate, audience_estimate, notification_audience
from push.services.images import (
    FittedPushImage,
    push_image_fit,
    push_image_of_url,
    push_image_path,
    push_image_store,
)
from push.validation import MAX_PAYLOAD_BYTES, is_decimal_number, payload_sizes

# Where lock screens cut a notification (characters; what fits depends on the phone's width and font
# size, so these follow the common guidance for an average phone; docs/push.md#preview):
# Android shows the title on one line and, expanded, the text on up to about six lines;
# iOS shows the title on one line and the text on up to four lines on the lock screen.
LOCK_SCREEN_LIMITS: dict[str, dict[str, int]] = {
    "android": {"title": 65, "body": 240},
    "ios": {"title": 50, "body": 178},
}
PLATFORM_NAMES = {"android": "Android", "ios": "iOS"}
ELLIPSIS = "…"


def cut(text: str, limit: int) -> tuple[str, bool]:
    """``text`` as a lock screen shows it: whole, or cut to ``limit`` characters ending in "…"."""
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    if len(text) <= limit:
        return text, False
    return text[: limit - 1].rstrip() + ELLIPSIS, True


@dataclass(frozen=True)
class LockScreen:
    platform: str
    platform_name: str
    language: str
    title: str
    body: str
    title_cut: bool
    body_cut: bool
    german_instead: bool  # a phone in English gets the German text: there is no English one


@dataclass
class Preview:
    screens: list[LockScreen]
    image_src: str  # what the workspace page can show (our own path); "" for none
    image_elsewhere: bool  # an image on another server: the workspace does not load it, phones will
    link_label: str
    sizes: dict[str, int]
    audience: AudienceEstimate | None
    warnings: list[StrOrPromise] = field(default_factory=list)
    errors: list[StrOrPromise] = field(default_factory=list)  # what the service will refuse
    audience_warnings: list[StrOrPromise] = field(default_factory=list)
    audience_errors: list[StrOrPromise] = field(default_factory=list)

    @property
    def max_payload(self) -> int:
        return MAX_PAYLOAD_BYTES


def preview_build(
    *,
    content: dict[str, dict[str, str]],
    image_url: str,
    deep_link: str,
    data: dict[str, str],
    audience: AudienceEstimate | None,
    language: str = "de",
) -> Preview:
    """The lock screens (Android and iOS, German and English), the warnings and the refusals."""
    german = content.get("de", {})
    english = content.get("en")
    screens = []
    warnings: list[StrOrPromise] = []
    errors: list[StrOrPromise] = []
    for platform, limits in LOCK_SCREEN_LIMITS.items():
        for shown in ("de", "en"):
            text = (english if shown == "en" and english else german) or {}
            title, title_cut = cut(str(text.get("title", "")), limits["title"])
            body, body_cut = cut(str(text.get("body", "")), limits["body"])
            screens.append(
                LockScreen(
                    platform=platform,
                    platform_name=PLATFORM_NAMES[platform],
                    language=shown,
                    title=title,
                    body=body,
                    title_cut=title_cut,
                    body_cut=body_cut,
                    german_instead=shown == "en" and not english,
                )
            )
            if (title_cut or body_cut) and (shown == "de" or english):
                warnings.append(
                    _("%(platform)s cuts the %(language)s %(part)s after %(n)d characters.")
                    % {
                        "platform": PLATFORM_NAMES[platform],
                        "language": _("German") if shown == "de" else _("English"),
                        "part": _("title") if title_cut else _("text"),
                        "n": limits["title"] if title_cut else limits["body"],
                    }
                )
    if not english or not (english.get("title") or english.get("body")):
        warnings.append(_("There is no English text: phones set to English will show the German one."))
    checked = {lang: text for lang, text in content.items() if text.get("title") or text.get("body")}
    sizes = payload_sizes(content=checked, data=data, image_url=image_url, deep_link=deep_link)
    for lang, size in sizes.items():
        if size > MAX_PAYLOAD_BYTES:
            errors.append(
                _(
                    "The message in %(language)s is %(size)d bytes as sent to Firebase; at most %(limit)d "
                    "are accepted. It cannot be submitted: shorten the text or the data."
                )
                % {"language": lang, "size": size, "limit": MAX_PAYLOAD_BYTES}
            )
    audience_warnings: list[StrOrPromise] = []
    audience_errors: list[StrOrPromise] = []
    if audience is not None:
        if audience.total == 0:
            audience_errors.append(
                _(
                    "This notification would reach no installation: none active in the last %(days)d days "
                    "has subscribed to its topic (in the chosen Stadtteile). It cannot be submitted."
                )
                % {"days": audience.active_days}
            )
        elif audience.below_minimum:
            audience_warnings.append(
                _("Only %(total)d installations: fewer than the %(minimum)d a campaign should reach.")
                % {"total": audience.total, "minimum": audience.minimum}
            )
    ours = push_image_of_url(image_url) if image_url else None
    return Preview(
        screens=screens,
        image_src=push_image_path(ours) if ours else "",
        image_elsewhere=bool(image_url) and ours is None,
        link_label=link_label(deep_link, language=language),
        sizes=sizes,
        audience=audience,
        warnings=warnings,
        errors=errors,
        audience_warnings=audience_warnings,
        audience_errors=audience_errors,
    )


def link_label(deep_link: str, *, language: str) -> str:
    if not deep_link:
        return ""
    parsed = links.link_parse(deep_link)
    if parsed is None:
        return str(_("%(link)s (not in the catalogue)") % {"link": deep_link})
    if parsed.target == links.WEB:
        return deep_link
    target = links.link_target(parsed.target)
    name = target.name_in(language) if target else parsed.target
    return " ".join([name, *parsed.parameters.values()])


def preview_html(preview: Preview, *, part: str) -> str:
    """``part`` "preview": the lock screens, text warnings and sizes; "audience": the estimate."""
    return render_to_string(f"admin/push/notification/{part}.html", {"preview": preview})


# --- Form fields: image and deep link chosen, not typed

NO_LINK = ""
KEEP = "keep"


def _link_target_choices(current: str) -> list[tuple[str, StrOrPromise]]:
    choices: list[tuple[str, StrOrPromise]] = [(NO_LINK, _("no link (opens the notice)"))]
    if current and links.link_parse(current) is None:
        choices.append((KEEP, _("unchanged: %(link)s") % {"link": current}))
    choices += [(target.key, target.name_in("de")) for target in links.registered_links()]
    choices.append((links.WEB, _("web page (https address)")))
    return choices


class LinkNumberInput(forms.TextInput):
    """The number a link names, with a ``<datalist>`` of recent things per target; the form's script
    points the input at the chosen target's list."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.suggestions: dict[str, list[tuple[str, str]]] = {}

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> Any:
        lists = format_html_join(
            "",
            '<datalist id="push-link-{}">{}</datalist>',
            (
                (key, format_html_join("", '<option value="{}">{}</option>', options))
                for key, options in self.suggestions.items()
            ),
        )
        return format_html("{}{}", super().render(name, value, attrs, renderer), lists)


class ImageAndLinkFields(forms.Form):
    """The image (upload, or one uploaded before) and the deep link (a target of the app's catalogue
    with its number, or an https address) of a notification."""

    image_upload = forms.FileField(
        label=_("upload an image"),
        required=False,
        help_text=_("JPEG, PNG or WebP; made smaller to what push services accept (at most 1 MB)."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    image_choice = forms.ChoiceField(label=_("image"), required=False)
    link_target = forms.ChoiceField(label=_("link opens"), required=False)
    link_id = forms.CharField(
        label=_("number"),
        required=False,
        max_length=60,
        help_text=_("The number of the notice, report or campaign the link opens; recent ones are offered."),
        widget=LinkNumberInput(attrs={"autocomplete": "off"}),
    )
    link_url = forms.URLField(
        label=_("https address"), required=False, max_length=links.MAX_LINK_LENGTH, assume_scheme="https"
    )

    image_to_store: FittedPushImage | None = None  # an upload, stored once the notification is saved

    def store_uploaded_image(self) -> None:
        if self.image_to_store is not None:
            push_image_store(self.image_to_store)
            self.image_to_store = None

    def setup_image_and_link(self, instance: Notification) -> None:
        image_choices: list[tuple[str, StrOrPromise]] = [("", _("no image"))]
        current = push_image_of_url(instance.image_url)
        if instance.image_url and current is None:
            image_choices.append((KEEP, _("unchanged: %(url)s") % {"url": instance.image_url}))
        image_choices += [(str(image.pk), str(image)) for image in PushImage.objects.all()[:100]]
        cast("forms.ChoiceField", self.fields["image_choice"]).choices = image_choices
        self.initial.setdefault(
            "image_choice", str(current.pk) if current else (KEEP if instance.image_url else "")
        )
        target_field = cast("forms.ChoiceField", self.fields["link_target"])
        target_field.choices = _link_target_choices(instance.deep_link)
        # The form's script shows the number only for targets that take one, the address only for web.
        target_field.widget.attrs["data-numbered"] = " ".join(
            target.key for target in links.registered_links() if target.parameters
        )
        # Recent things of each target, offered while typing the number (a datalist per target).
        cast("LinkNumberInput", self.fields["link_id"].widget).suggestions = {
            target.key: target.suggestions()
            for target in links.registered_links()
            if target.parameters and target.suggestions is not None
        }
        parsed = links.link_parse(instance.deep_link)
        if parsed is None:
            self.initial.setdefault("link_target", KEEP if instance.deep_link else NO_LINK)
        elif parsed.target == links.WEB:
            self.initial.setdefault("link_target", links.WEB)
            self.initial.setdefault("link_url", instance.deep_link)
        else:
            self.initial.setdefault("link_target", parsed.target)
            self.initial.setdefault("link_id", next(iter(parsed.parameters.values()), ""))

    def chosen_deep_link(self, data: dict[str, Any], instance: Notification) -> str:
        """The link the fields describe; the service checks it against the catalogue."""
        return deep_link_from(
            target=data.get("link_target") or "",
            number=str(data.get("link_id") or ""),
            url=str(data.get("link_url") or ""),
            current=instance.deep_link,
        )

    def chosen_image_url(
        self, data: dict[str, Any], instance: Notification, *, actor: User, base: str
    ) -> str:
        upload = data.get("image_upload")
        if upload:
            self.image_to_store = push_image_fit(upload=upload, actor=actor, name=getattr(upload, "name", ""))
            return base + push_image_path(self.image_to_store.image)
        return image_url_from(
            choice=str(data.get("image_choice") or ""), current=instance.image_url, base=base
        )


def deep_link_from(*, target: str, number: str, url: str, current: str) -> str:
    if target == NO_LINK:
        return ""
    if target == KEEP:
        return current
    if target == links.WEB:
        return url.strip()
    chosen = links.link_target(target)
    if chosen is None:
        raise DomainError(
            _("Choose a link from the app's catalogue."), code="invalid_deep_link", field="deep_link"
        )
    if not chosen.parameters:
        return chosen.link()
    return chosen.link(**{chosen.parameters[0].name: number.strip()})


def image_url_from(*, choice: str, current: str, base: str) -> str:
    if not choice:
        return ""
    if choice == KEEP:
        return current
    image = PushImage.objects.filter(pk=choice).first() if _is_uuid(choice) else None
    if image is None:
        raise DomainError(_("Choose one of the images."), code="invalid_image", field="image_choice")
    return base + push_image_path(image)


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --- The preview endpoint the form's script calls


def _json_or_empty(text: str) -> dict[str, str]:
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


# Typing changes the text, not the audience: the count (0.5-1 s at 500,000 installations, docs/push.md)
# is kept this long per audience, so a preview per keystroke does not count again.
ESTIMATE_CACHE_SECONDS = 30


def _estimate_for_typing(
    *, kind: str, audience_kind: str, topic_ids: list[int], stadtteile: list[str], languages: list[str]
) -> AudienceEstimate:
    arguments = {
        "kind": kind,
        "audience_kind": audience_kind,
        "topic_ids": topic_ids,
        "stadtteile": stadtteile,
        "languages": languages,
    }
    key = "push:audience-estimate:" + hashlib.sha256(json.dumps(arguments).encode()).hexdigest()
    try:
        cached: AudienceEstimate | None = cache.get(key)
    except CACHE_UNREACHABLE:
        cached = None
    if cached is not None:
        return cached
    estimate = audience_estimate(**arguments)  # type: ignore[arg-type]
    with contextlib.suppress(*CACHE_UNREACHABLE):
        cache.set(key, estimate, ESTIMATE_CACHE_SECONDS)
    return estimate


def preview_view(request: HttpRequest, model_admin: Any) -> HttpResponse:
    """POST of the notification form (without the file): the preview fragment for what is typed now."""
    if request.method != "POST" or not (
        model_admin.has_add_permission(request) or model_admin.has_view_permission(request)
    ):
        raise PermissionDenied
    form = request.POST
    notification = None
    if is_decimal_number(form.get("notification_id", "")):
        notification = Notification.objects.filter(pk=int(form["notification_id"])).first()
    current = notification or Notification()
    content = {
        language: {"title": form.get(f"title_{language}", ""), "body": form.get(f"body_{language}", "")}
        for language in ("de", "en")
        if form.get(f"title_{language}") or form.get(f"body_{language}")
    }
    content.setdefault("de", {"title": "", "body": ""})
    try:
        deep_link = deep_link_from(
            target=form.get("link_target", ""),
            number=form.get("link_id", ""),
            url=form.get("link_url", ""),
            current=current.deep_link,
        )
        image_url = image_url_from(choice=form.get("image_choice", ""), current=current.image_url, base="")
    except DomainError:
        deep_link, image_url = "", ""
    kind = form.get("kind") or current.kind or NotificationKind.NEWS
    audience_kind = form.get("audience_kind") or current.audience_kind or AudienceKind.ALL
    topic_ids = [int(t) for t in form.getlist("audience_topics") if is_decimal_number(t)]
    estimate = _estimate_for_typing(
        kind=kind,
        audience_kind=audience_kind,
        topic_ids=sorted(Topic.objects.filter(pk__in=topic_ids).values_list("pk", flat=True)),
        stadtteile=sorted(s for s in form.getlist("audience_stadtteile") if s in STADTTEILE),
        languages=sorted(content),
    )
    preview = preview_build(
        content=content,
        image_url=image_url,
        deep_link=deep_link,
        data=_json_or_empty(form.get("data", "")),
        audience=estimate,
    )
    # Both parts in one answer; the script puts each where it belongs on the form.
    return HttpResponse(
        format_html(
            '<div data-part="preview">{}</div><div data-part="audience">{}</div>',
            mark_safe(preview_html(preview, part="preview")),  # noqa: S308  (our templates, autoescaped)
            mark_safe(preview_html(preview, part="audience")),  # noqa: S308
        )
    )


def notification_preview_html(notification: Notification, *, part: str) -> str:
    """The preview of a saved notification, or the audience it reaches now (the detail page). Worked out
    once per page: both parts come from the same preview."""
    from push.models import BROADCAST_KINDS

    cached: Preview | None = getattr(notification, "_push_preview", None)
    if cached is not None:
        return preview_html(cached, part=part)

    # Until it is sent: what it would reach now. Afterwards the statistics say what it reached.
    before_sending = notification.status in (
        NotificationStatus.DRAFT,
        NotificationStatus.AWAITING_APPROVAL,
        NotificationStatus.SCHEDULED,
    )
    audience = (
        notification_audience(notification)
        if notification.pk
        and before_sending
        and notification.kind in BROADCAST_KINDS
        and notification.audience_kind
        else None
    )
    content = notification.content or {"de": {"title": "", "body": ""}}
    preview = preview_build(
        content=content,
        image_url=notification.image_url,
        deep_link=notification.deep_link,
        data={str(k): str(v) for k, v in (notification.data or {}).items()},
        audience=audience,
    )
    notification._push_preview = preview  # type: ignore[attr-defined]
    return preview_html(preview, part=part)
