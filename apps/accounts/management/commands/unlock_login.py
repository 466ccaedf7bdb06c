from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.accounts.lockout import login_unlock


class Command(BaseCommand):
    help = "Unlock a username locked out of the admin after too many failed logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        cleared = login_unlock(username=username)
        self.stdout.write(f"Cleared {cleared} failed-login record(s) of {username!r}.")
