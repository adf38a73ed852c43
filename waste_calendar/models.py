"""The Abfallkalender: which bin is collected when, for every address of the region.

The model
=========

``WasteType``
    A fraction (Restabfall, Bioabfall, Papier, Wertstoff, Sperrmüll, Schadstoffmobil, Weihnachtsbaum …):
    a stable ``key`` used in the API (``?types=restabfall,papier``), names and disposal hints in German and
    English, a colour and an icon key for the app.

``Street``
    A street of the region: ``name`` as written ("Bahnhofstraße"), ``postcode``, ``stadtteil``, and two
    search forms computed by ``waste_calendar.normalise`` (the one place of the normalisation) when the
    street is saved through the importers/services: ``name_search`` keeps word boundaries (prefix and
    word-start matches), ``name_compact`` drops them (inner-word matches, "Bochumerstr"). A query must go
    through ``street_search_form``/``street_compact_form`` before it is compared.
    ``needs_house_number`` is False when every house number of the street shares all districts: the street's
    own location (``house_number == ""``) then stands for the whole street and the app skips the number step.

``Location``
    What the app subscribes to and the API's ``/locations/{public_id}``: one house number ("12a"), a range of
    house numbers ("1-99", with ``parity`` odd/even/all, as the waste company's table has them), or the whole
    street (``house_number == ""``). ``public_id`` is a hash of the street's name, its postcode and the
    canonical house number (``location_public_id``): it survives re-imports and database rebuilds, unlike the
    autoincrement pk, and is never reused for another address. ``number_from``/``number_to``/``suffix``/
    ``parity`` make "which location holds number 13b" a range query (``locations_for_number``).

``District``
    A collection district ("Tour") of ONE waste type, e.g. ``restabfall / R-07``. CSV imports name them; the
    ICS importer derives them (addresses whose feeds carry the same dates for a type share one district, and a
    re-import keeps the district each group had before, so moved dates are recognised); the planner fills
    them from ``PlanRule``s.

``LocationDistrict``
    For each waste type, the district a location belongs to, with validity dates (``valid_until`` inclusive,
    NULL = open): routes change at year end, so a location has one row per type and period.

``Collection``
    One collection of a district on a ``date`` with a ``status``: ``scheduled``; ``moved`` (``date`` is the
    new day, ``original_date`` the regular one, ``reason`` e.g. "Feiertag: Neujahr"); ``cancelled`` (``date``
    is the day that no longer takes place); ``extra`` (an additional collection). The dates of a location are
    ``Collection`` rows of its districts within each assignment's validity: ``collections_for_location`` in
    ``waste_calendar.selectors``. ``updated_at`` feeds Last-Modified/ETag.

``CollectionChange``
    One row per collection that a re-import (or a re-planning) moved, cancelled or added compared with what
    was stored before, with the previous and the new date. The reminder side reads these for "changed"
    pushes (``notified_at`` is theirs to set); in addition ``waste_calendar.services.collections_changed`` (a
    Django signal) is sent after the import's transaction commits, with ``changes=[CollectionChange, …]``.

``ImportRun``
    The import history: every run of ``import_waste_ics``/``import_waste_csv``/``plan_waste_year`` (and
    every cancellation by staff in the admin, kind ``manual``) with its source, a checksum of the input,
    the outcome and a summary; a failed run lists the offending lines and changed nothing (the last good
    import stays in force).

``PlanRule``
    A planning rule for a district: a weekday, every ``interval_weeks`` weeks, counted from ``anchor_date``
    (a date on which the district is collected), valid within dates; ``plan_waste_year`` turns rules into
    ``Collection`` rows and shifts the ones that fall on public holidays.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from casapp.city import STADTTEIL_CHOICES
from waste_calendar.normalise import street_search_form


class WasteType(models.Model):
    """A waste fraction with its names, colour, icon and disposal hints; ``key`` is the API's identifier."""

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name_de = models.CharField(_("name (German)"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=80, blank=True)
    name_tr = models.CharField(_("name (Turkish)"), max_length=80, blank=True)
    colour = models.CharField(
        _("colour"),
        max_length=7,
        default="#808080",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour is written #RRGGBB."))],
    )
    icon_key = models.SlugField(_("icon"), max_length=40, blank=True)
    hints_de = models.TextField(_("disposal hints (German)"), blank=True)
    hints_en = models.TextField(_("disposal hints (English)"), blank=True)
    hints_tr = models.TextField(_("disposal hints (Turkish)"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("waste type")
        verbose_name_plural = _("waste types")
        ordering = ["position", "key"]

    def __str__(self) -> str:
        return self.name_de


class Street(models.Model):
    """A street; its search forms come from ``waste_calendar.normalise`` (set by the services)."""

    name = models.CharField(_("name"), max_length=120)
    postcode = models.CharField(_("postcode"), max_length=5, blank=True)
    stadtteil = models.CharField(_("Stadtteil"), max_length=40, choices=STADTTEIL_CHOICES, blank=True)
    name_search = models.CharField(_("search form"), max_length=160, editable=False)
    name_compact = models.CharField(_("compact search form"), max_length=160, editable=False)
    needs_house_number = models.BooleanField(
        _("needs a house number"),
        default=True,
        help_text=_("Off when all house numbers share every district: the street is one location."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("street")
        verbose_name_plural = _("streets")
        ordering = ["name", "postcode"]
        constraints = [
            models.UniqueConstraint(fields=["name", "postcode"], name="waste_street_name_postcode")
        ]
        indexes = [
            # Prefix search (LIKE 'abc%') on PostgreSQL needs the pattern operator class unless the
            # database collation is C; SQLite ignores the opclass.
            models.Index(
                fields=["name_search"], name="waste_street_search", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(
                fields=["name_compact"], name="waste_street_compact", opclasses=["varchar_pattern_ops"]
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.postcode})" if self.postcode else self.name


class Parity(models.TextChoices):
    ALL = "all", _("all numbers")
    ODD = "odd", _("odd numbers")
    EVEN = "even", _("even numbers")


def location_public_id(*, street_name: str, postcode: str, house_number_key: str) -> str:
    """The stable public id of a location: the same address gives the same id in every import."""
    natural_key = f"{street_search_form(street_name)}|{postcode.strip()}|{house_number_key}"
    digest = hashlib.blake2b(natural_key.encode("utf-8"), digest_size=10).digest()
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()


class Location(models.Model):
    """A house number, a range of house numbers or a whole street: the unit of districts and reminders."""

    public_id = models.CharField(_("public id"), max_length=20, unique=True, editable=False)
    street = models.ForeignKey(Street, on_delete=models.CASCADE, related_name="locations")
    # As shown: "12a", "1-99", "2-50 (gerade)"; "" for the whole street.
    house_number = models.CharField(_("house number"), max_length=30, blank=True)
    # Canonical form, unique per street: "12a", "1-99", "1-99/odd", "" (whole street).
    house_number_key = models.CharField(max_length=30, blank=True, editable=False)
    number_from = models.PositiveIntegerField(null=True, blank=True)
    number_to = models.PositiveIntegerField(null=True, blank=True)
    suffix = models.CharField(_("suffix"), max_length=5, blank=True)
    parity = models.CharField(_("parity"), max_length=4, choices=Parity.choices, default=Parity.ALL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["street", "number_from", "suffix", "number_to"]
        constraints = [
            models.UniqueConstraint(fields=["street", "house_number_key"], name="waste_location_per_street"),
            models.CheckConstraint(
                condition=Q(number_from__isnull=True, number_to__isnull=True)
                | Q(number_from__isnull=False, number_to__gte=F("number_from")),
                name="waste_location_number_range",
            ),
        ]
        indexes = [models.Index(fields=["street", "number_from", "number_to"], name="waste_location_numbers")]

    def __str__(self) -> str:
        return f"{self.street.name} {self.house_number}".strip()

    @property
    def is_whole_street(self) -> bool:
        return self.house_number_key == ""


class DistrictSource(models.TextChoices):
    CSV = "csv", _("CSV import")
    ICS = "ics", _("ICS import")
    PLAN = "plan", _("planned")
    MANUAL = "manual", _("entered by staff")


class District(models.Model):
    """A collection district ("Tour") of one waste type."""

    waste_type = models.ForeignKey(WasteType, on_delete=models.PROTECT, related_name="districts")
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120, blank=True)
    source = models.CharField(
        _("source"), max_length=10, choices=DistrictSource.choices, default=DistrictSource.MANUAL
    )

    class Meta:
        verbose_name = _("collection district")
        verbose_name_plural = _("collection districts")
        ordering = ["waste_type", "code"]
        constraints = [models.UniqueConstraint(fields=["waste_type", "code"], name="waste_district_code")]

    def __str__(self) -> str:
        return f"{self.waste_type.name_de} {self.code}"


class LocationDistrict(models.Model):
    """The district of a location for one waste type, from ``valid_from`` to ``valid_until`` (inclusive)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="assignments")
    # Equal to district.waste_type; stored so "one district per type and period" is a constraint.
    waste_type = models.ForeignKey(WasteType, on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="assignments")
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("district assignment")
        verbose_name_plural = _("district assignments")
        ordering = ["location", "waste_type", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "waste_type", "valid_from"], name="waste_assignment_period"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="waste_assignment_dates",
            ),
        ]
        indexes = [models.Index(fields=["district", "valid_from"], name="waste_assignment_district")]

    def __str__(self) -> str:
        return f"{self.location} → {self.district}"


class CollectionStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("scheduled")
    MOVED = "moved", _("moved")
    CANCELLED = "cancelled", _("cancelled")
    EXTRA = "extra", _("extra collection")


class ImportKind(models.TextChoices):
    ICS = "ics", _("ICS feeds")
    CSV = "csv", _("CSV table")
    PLAN = "plan", _("planned year")
    MANUAL = "manual", _("changed by staff")


class ImportStatus(models.TextChoices):
    SUCCEEDED = "succeeded", _("succeeded")
    UNCHANGED = "unchanged", _("unchanged (same input as the last good import)")
    FAILED = "failed", _("failed, nothing changed")
    # Would cancel or move too much: nothing applied or pushed until an Administration user decides.
    HELD = "held", _("to be reviewed")
    DISCARDED = "discarded", _("discarded, nothing changed")


class ImportRun(models.Model):
    """One run of an importer or the planner: what came in, what it changed, or why it was refused."""

    kind = models.CharField(_("kind"), max_length=10, choices=ImportKind.choices)
    source = models.CharField(_("source"), max_length=1000)
    checksum = models.CharField(_("checksum"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ImportStatus.choices)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Counts: {"locations": …, "collections_created": …, "moved": …, "cancelled": …, …}
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    problems = models.TextField(_("problems"), blank=True)
    # A held run: why, and what it would change per district ({"reasons": [...], "districts": [...]}).
    review = models.JSONField(_("review"), default=dict, blank=True)
    # A held run's checked input (compressed JSON, ``import_data.import_data_dump``), applied on
    # confirmation; emptied once decided.
    held_input = models.BinaryField(null=True, blank=True, editable=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("import history")
        ordering = ["-started_at"]
        permissions = [("review_importrun", _("Can confirm or discard a held import"))]
        indexes = [models.Index(fields=["kind", "status", "-started_at"], name="waste_import_last_good")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.started_at:%Y-%m-%d %H:%M}"


class Collection(models.Model):
    """One collection of a district on a day; moved ones keep the regular day in ``original_date``."""

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="collections")
    date = models.DateField(_("date"))
    status = models.CharField(
        _("status"), max_length=10, choices=CollectionStatus.choices, default=CollectionStatus.SCHEDULED
    )
    original_date = models.DateField(_("original date"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    import_run = models.ForeignKey(
        ImportRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The ICS SEQUENCE of the collection's event: raised with every change of its day or status, never
    # lowered (calendar apps ignore an update whose SEQUENCE is lower than the one they have).
    sequence = models.PositiveIntegerField(_("revision"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("collection")
        verbose_name_plural = _("collections")
        ordering = ["date", "district"]
        constraints = [
            models.UniqueConstraint(fields=["district", "date"], name="waste_collection_per_day"),
            models.CheckConstraint(
                condition=Q(status="moved", original_date__isnull=False) | ~Q(status="moved"),
                name="waste_collection_moved_has_original",
            ),
        ]
        indexes = [models.Index(fields=["date"], name="waste_collection_date")]

    def __str__(self) -> str:
        return f"{self.district} {self.date:%Y-%m-%d}"


class ChangeKind(models.TextChoices):
    MOVED = "moved", _("moved")
    CANCELLED = "cancelled", _("cancelled")
    ADDED = "added", _("added")


class CollectionChange(models.Model):
    """A collection that an import moved, cancelled or added compared with the previous data."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="changes")
    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=ChangeKind.choices)
    previous_date = models.DateField(_("previous date"), null=True, blank=True)
    # The new day of a moved or added collection; the day that no longer takes place for a cancelled one.
    date = models.DateField(_("date"))
    import_run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="changes")
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by the reminder side once the "changed" push went out.
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("collection change")
        verbose_name_plural = _("collection changes")
        ordering = ["-created_at", "date"]
        indexes = [
            models.Index(fields=["date", "district"], name="waste_change_date"),
            models.Index(
                fields=["created_at"], name="waste_change_unnotified", condition=Q(notified_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.district} {self.date:%Y-%m-%d}"


class PlanRule(models.Model):
    """A district collected on ``weekday`` every ``interval_weeks`` weeks, in step with ``anchor_date``."""

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="plan_rules")
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), validators=[MaxValueValidator(6)], help_text=_("0 = Monday … 6 = Sunday")
    )
    interval_weeks = models.PositiveSmallIntegerField(
        _("every n weeks"), default=1, validators=[MinValueValidator(1), MaxValueValidator(52)]
    )
    anchor_date = models.DateField(
        _("a collection day"), help_text=_("Fixes which weeks are collection weeks.")
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        verbose_name = _("planning rule")
        verbose_name_plural = _("planning rules")
        ordering = ["district", "weekday"]
        constraints = [
            models.UniqueConstraint(fields=["district", "weekday", "valid_from"], name="waste_plan_rule"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="waste_plan_rule_weekday"),
            models.CheckConstraint(condition=Q(interval_weeks__gte=1), name="waste_plan_rule_interval"),
        ]

    def __str__(self) -> str:
        return f"{self.district}: {self.weekday}/{self.interval_weeks}"


# ---------------------------------------------------------------------------------------------------------
# Reminders (the reminder side: subscriptions of app installations and the claims that make each reminder
# go out at most once). Written by ``reminders`` (subscriptions) and ``reminder_night`` (claims, runs).
# ---------------------------------------------------------------------------------------------------------


class ReminderTime(models.TextChoices):
    """Which day a reminder goes out: the evening before the collection or the morning of it."""

    EVENING_BEFORE = "evening_before", _("the evening before")
    MORNING_OF = "morning_of", _("the morning of the collection")


# The times a reminder may choose (Europe/Berlin wall clock), in steps of ``REMINDER_TIME_STEP_MINUTES``,
# and the time each day had before times could be chosen (the default; a data migration gave it to every
# subscription made before).
REMINDER_WINDOWS: dict[str, tuple[dt.time, dt.time]] = {
    ReminderTime.EVENING_BEFORE: (dt.time(16, 0), dt.time(22, 0)),
    ReminderTime.MORNING_OF: (dt.time(5, 0), dt.time(8, 0)),
}
REMINDER_DEFAULT_TIMES: dict[str, dt.time] = {
    ReminderTime.EVENING_BEFORE: dt.time(18, 0),
    ReminderTime.MORNING_OF: dt.time(6, 0),
}
REMINDER_TIME_STEP_MINUTES = 15
REMINDER_LABEL_MAX_LENGTH = 40


def reminder_times(remind_at: str) -> list[dt.time]:
    """Every time a reminder of that day may choose, earliest first."""
    first, last = REMINDER_WINDOWS[remind_at]
    minutes = range(
        first.hour * 60 + first.minute, last.hour * 60 + last.minute + 1, REMINDER_TIME_STEP_MINUTES
    )
    return [dt.time(m // 60, m % 60) for m in minutes]


def _reminder_time_in_window() -> Q:
    windows = Q()
    for remind_at, (first, last) in REMINDER_WINDOWS.items():
        windows |= Q(remind_at=remind_at, remind_time__gte=first, remind_time__lte=last)
    return windows


class ReminderSubscription(models.Model):
    """An installation wants a push before the collections of ``waste_types`` at a location.

    ``waste_types`` holds type keys (a JSON list rather than a many-to-many table): the evening run reads a
    million of these in one pass, and a join table would triple the rows it streams.
    """

    installation = models.ForeignKey(
        "push.Installation", on_delete=models.CASCADE, related_name="waste_reminders"
    )
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="reminder_subscriptions")
    # The number the user picked ("12"), shown in the push instead of the location's range ("1-99").
    house_number = models.CharField(_("house number"), max_length=30, blank=True)
    # The user's name for the address ("Zuhause", "Mama"), shown in the push instead of the address.
    label = models.CharField(_("label"), max_length=REMINDER_LABEL_MAX_LENGTH, blank=True)
    waste_types = models.JSONField(_("waste types"), default=list)
    remind_at = models.CharField(
        _("reminder day"), max_length=20, choices=ReminderTime.choices, default=ReminderTime.EVENING_BEFORE
    )
    # Wall-clock time in Europe/Berlin on that day, within the day's window, in 15-minute steps.
    remind_time = models.TimeField(
        _("reminder time"), default=REMINDER_DEFAULT_TIMES[ReminderTime.EVENING_BEFORE]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("reminder subscription")
        verbose_name_plural = _("reminder subscriptions")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["installation", "location"], name="waste_reminder_per_location"),
            models.CheckConstraint(condition=_reminder_time_in_window(), name="waste_reminder_time_window"),
        ]
        indexes = [
            models.Index(fields=["remind_at", "remind_time", "updated_at"], name="waste_reminder_slot_time")
        ]

    def __str__(self) -> str:
        return f"{self.installation_id} → {self.location_id}"


class ReminderSend(models.Model):
    """The claim of one reminder: inserted before the push is handed over, in the same transaction.

    The unique constraint is what guarantees "at most one reminder per installation, location and day",
    also when two runs of the task overlap: the second insert finds the row and sends nothing.
    """

    installation = models.ForeignKey("push.Installation", on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    collection_day = models.DateField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "location", "collection_day"], name="waste_reminder_once_per_day"
            )
        ]
        indexes = [models.Index(fields=["collection_day"], name="waste_reminder_send_day")]

    def __str__(self) -> str:
        return f"{self.installation_id} → {self.location_id} {self.collection_day:%Y-%m-%d}"


class ReminderRun(models.Model):
    """One reminder slot (time and collection day) that the periodic task has worked through.

    Later runs of the same slot only look at subscriptions changed since ``started_at``, so the task can
    run every minute without streaming every subscription again.
    """

    remind_at = models.CharField(max_length=20, choices=ReminderTime.choices)
    remind_time = models.TimeField(default=REMINDER_DEFAULT_TIMES[ReminderTime.EVENING_BEFORE])
    collection_day = models.DateField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    sent = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["remind_at", "remind_time", "collection_day"], name="waste_reminder_run_time"
            )
        ]

    def __str__(self) -> str:
        return f"{self.remind_at} {self.remind_time:%H:%M} {self.collection_day:%Y-%m-%d}"


class DataGeneration(models.Model):
    """One row: a number raised whenever the Abfallkalender's data changed (``lookup.data_generation_bump``).

    Cached public answers carry the generation they were built for. It lives in the database, which every
    process sees (the web server, an import on the command line, a worker), whatever the cache backend.
    """

    generation = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("data generation")

    def __str__(self) -> str:
        return str(self.generation)
