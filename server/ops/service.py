"""systemd units for a centre's server, written by `luot install-service` (and by the bundle's install.sh).

- `luot.service`: `luot upgrade` (backup + migrations, a no-op when up to date) then `luot serve`, as a dedicated
  user, restarted on failure, stopped with SIGTERM (exit 0), logs to journald (`journalctl -u luot`), hardened
  (ProtectSystem=strict: only the instance and backup folders are writable).
- `luot-rollup.timer` → `luot stats rollup` at 00:30 local time (Asia/Ho_Chi_Minh), catching up after downtime.
- `luot-backup.timer` → `luot backup --dir BACKUPS --keep N` at 01:00, keeping the newest N.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServiceLayout:
    """Where the installed Lượt lives; the defaults are install.sh's."""

    luot: str = "/opt/luot/venv/bin/luot"
    user: str = "luot"
    instance_dir: str = "/var/lib/luot"
    backup_dir: str = "/var/backups/luot"
    env_file: str = "/etc/luot/luot.env"
    keep: int = 14


HARDENING = """NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
SystemCallArchitectures=native
UMask=0027
"""


def units(layout: ServiceLayout) -> dict[str, str]:
    """{file name: contents} of the five units."""
    common = f"""User={layout.user}
Group={layout.user}
EnvironmentFile=-{layout.env_file}
Environment=LUOT_INSTANCE_DIR={layout.instance_dir}
Environment=PYTHONUNBUFFERED=1
ReadWritePaths={layout.instance_dir} {layout.backup_dir}
{HARDENING}"""
    return {
        "luot.service": f"""[Unit]
Description=Lượt queue management server
Documentation=file:///opt/luot/README.md
After=network-online.target time-sync.target
Wants=network-online.target

[Service]
Type=simple
{common}# USB and serial ticket printers attached to the server
SupplementaryGroups=lp dialout
ExecStartPre={layout.luot} upgrade --backup-dir {layout.backup_dir}
ExecStart={layout.luot} serve
Restart=on-failure
RestartSec=3
KillSignal=SIGTERM
TimeoutStopSec=20
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
""",
        "luot-rollup.service": f"""[Unit]
Description=Lượt nightly statistics roll-up

[Service]
Type=oneshot
{common}ExecStart={layout.luot} stats rollup
""",
        "luot-rollup.timer": """[Unit]
Description=Lượt nightly statistics roll-up

[Timer]
OnCalendar=*-*-* 00:30:00 Asia/Ho_Chi_Minh
Persistent=true
RandomizedDelaySec=5min

[Install]
WantedBy=timers.target
""",
        "luot-backup.service": f"""[Unit]
Description=Lượt nightly database backup

[Service]
Type=oneshot
{common}ExecStart={layout.luot} backup --dir {layout.backup_dir} --keep {layout.keep}
""",
        "luot-backup.timer": """[Unit]
Description=Lượt nightly database backup

[Timer]
OnCalendar=*-*-* 01:00:00 Asia/Ho_Chi_Minh
Persistent=true

[Install]
WantedBy=timers.target
""",
    }


ENV_FILE = """# Lượt settings (see README "Configuration"); read by luot.service and its timers.
# LUOT_HOST=0.0.0.0
# LUOT_PORT=5000
# LUOT_PUBLIC_URL=https://luot.example.gov.vn
# LUOT_TRUSTED_PROXIES=1
# LUOT_METRICS=1
# LUOT_METRICS_TOKEN=change-me
"""


def write_units(layout: ServiceLayout, destination: Path) -> list[Path]:
    """Writes the units into `destination` (e.g. /etc/systemd/system); returns the files written."""
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in units(layout).items():
        path = destination / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def write_env_file(layout: ServiceLayout) -> Path | None:
    """Creates the settings file once (never overwrites the officer's edits); None when it exists."""
    path = Path(layout.env_file)
    if path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ENV_FILE, encoding="utf-8")
    return path
