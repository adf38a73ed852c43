"""django-axes, installed under a name the workspace's users understand.

Its own module: a second AppConfig in ``casapp/apps.py`` would stop Django from choosing ``CasappConfig``.
"""

from __future__ import annotations

from axes.apps import AppConfig as AxesConfig
from django.utils.translation import gettext_lazy as _


class LoginAttemptsConfig(AxesConfig):
    verbose_name = _("Login attempts")
