"""Running Lượt at a centre: refusing what would break the hall (guards), `luot doctor`, `/metrics`, backups and
upgrades, the systemd service and the LAN address that QR codes carry. Nothing here is imported by the domain."""
