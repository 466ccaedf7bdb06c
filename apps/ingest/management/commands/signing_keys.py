"""List the keys that sign ingest answers, or make a new key pair and print the settings that rotate to it.

Keys live in the settings (environment), not in the database: a database dump or backup never
holds them. This command therefore prints what to set; it changes nothing by itself.
"""

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management.base import BaseCommand, CommandParser

from apps.ingest.signing_keys import PUBLISHED, SIGNING, PublicKey, decode_key, keyring, new_private_key, public_raw


class Command(BaseCommand):
    help = "List the answer-signing keys (default), or `new`: make a key pair and print the rotation steps."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", choices=["list", "new"], default="list")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "new":
            self.new()
        else:
            self.list()

    def list(self) -> None:
        for key in keyring().published:
            role = "signing  " if key.role == SIGNING else "published"
            self.stdout.write(f"{role}  keyid={key.kid}  public={key.x}")

    def new(self) -> None:
        keys = keyring()
        private = new_private_key()
        public = PublicKey(public_raw(Ed25519PrivateKey.from_private_bytes(decode_key(private, name="new key"))),
                           PUBLISHED)
        others = [key.x for key in keys.published[1:]]
        old = keys.signing.x
        self.stdout.write(
            f"New key pair (keep the private key secret; it is shown only now):\n"
            f"  private: {private}\n  public:  {public.x}\n  keyid:   {public.kid}\n\n"
            f"1. Publish the new public key beside the current one, deploy, and ship it in your products' releases:\n"
            f"     TELEMETRY_SIGNING_PUBLIC_KEYS={','.join([*others, public.x])}\n"
            f"2. Once instances know it, let it sign and keep the old key published:\n"
            f"     TELEMETRY_SIGNING_KEY={private}\n"
            f"     TELEMETRY_SIGNING_PUBLIC_KEYS={','.join([*others, old])}\n"
            f"3. When no release relies on the old key ({keys.kid}), remove it from TELEMETRY_SIGNING_PUBLIC_KEYS.\n")
