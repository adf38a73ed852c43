"""The Abfallkalender API: public lookups and feeds, and the installations' reminders."""
