"""A streaming replica of a private cluster (tests/faults/services.py `Postgres`), made by pg_basebackup."""

import os
import pwd
from pathlib import Path

from tests.faults.services import PG_BIN, Postgres


class Standby(Postgres):
    """A hot standby of `primary` on `port`: a base backup with `-R` (standby.signal and the
    primary's address in postgresql.auto.conf), then WAL streamed from the primary as it is written."""

    def __init__(self, workdir: Path, port: int, primary: Postgres) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        super().__init__(workdir, port)
        self.primary = primary

    def init(self) -> None:
        if self.user:
            account = pwd.getpwnam(self.user)
            os.chown(self.socket_dir, account.pw_uid, account.pw_gid)
        self._run(str(PG_BIN / "pg_basebackup"), "-D", str(self.dir), "-h", "127.0.0.1", "-p", str(self.primary.port),
                  "-U", "postgres", "-X", "stream", "-R", "--checkpoint=fast", "--no-sync")
        self.start()
