"""The security baseline's controls: what each one demands, why, and what it maps to.

One place for every control and every value: deploys/baseline.py applies these values,
tests/infra/test_baseline.py proves each control (one test per ID), and the table in
deploys/README.md is generated from this file (`partilha deploy controls --markdown`).

Each is a `partilha.controls.Control` (the engine's type for a control, which every catalogue
uses). Mappings: dev-sec linux-baseline / ssh-baseline control IDs, and CIS Debian Linux 12 Benchmark
v1.1.0 recommendation numbers.

Some controls cannot apply inside a container: its kernel, clock and audit subsystem are the
host's. Those say why in `in_container`, and are reported as not applicable there, never
silently skipped.
"""

from __future__ import annotations

from partilha.controls import Control

NO_KERNEL = ("the kernel belongs to the host: a container sees /proc/sys read-only outside its "
             "own network namespace, and must not retune the host's kernel")
NO_AUDIT = ("the kernel's audit subsystem is not namespaced: the kernel refuses audit control from "
            "a container (EPERM), and a container must not change the host kernel's audit rules")
NO_CLOCK = ("the clock belongs to the host's kernel: a container lacks CAP_SYS_TIME (chrony's unit "
            "requires it) and keeps the host's synchronised time")


# ---- values the baseline sets and the tests expect ------------------------------------------

ADMIN_SUDOERS = "/etc/sudoers.d/partilha-admin"
SUDO_DEFAULTS_FILE = "/etc/sudoers.d/00-partilha-defaults"
SUDO_DEFAULTS = {"use_pty": None, "logfile": "/var/log/sudo.log"}

# Effective sshd settings (`sshd -T` spelling: lowercase keys) per control. PermitRootLogin
# depends on the host (Host.root_login) and is added by the deploy and the test.
SSHD: dict[str, dict[str, str]] = {
    "PTL-SSH-01": {"passwordauthentication": "no", "kbdinteractiveauthentication": "no",
                   "pubkeyauthentication": "yes", "hostbasedauthentication": "no",
                   "ignorerhosts": "yes", "gssapiauthentication": "no"},
    "PTL-SSH-02": {"permitemptypasswords": "no"},
    "PTL-SSH-04": {"ciphers": "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,"
                              "aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr"},
    "PTL-SSH-05": {"kexalgorithms": "sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
                                    "curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,"
                                    "diffie-hellman-group18-sha512,"
                                    "diffie-hellman-group-exchange-sha256"},
    "PTL-SSH-06": {"macs": "hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
                           "umac-128-etm@openssh.com"},
    "PTL-SSH-07": {"maxauthtries": "3", "logingracetime": "30", "maxsessions": "10",
                   "maxstartups": "10:30:60"},
    "PTL-SSH-08": {"clientaliveinterval": "300", "clientalivecountmax": "3"},
    "PTL-SSH-09": {"disableforwarding": "yes", "allowagentforwarding": "no",
                   "allowtcpforwarding": "no", "x11forwarding": "no", "permittunnel": "no",
                   "gatewayports": "no"},
    "PTL-SSH-10": {"loglevel": "VERBOSE"},
    "PTL-SSH-11": {"permituserenvironment": "no", "strictmodes": "yes", "usepam": "yes"},
}
SSHD_DROPIN = "/etc/ssh/sshd_config.d/00-partilha-baseline.conf"

LOGIN_DEFS = {"PASS_MAX_DAYS": "365", "PASS_MIN_DAYS": "1", "PASS_WARN_AGE": "7",
              "ENCRYPT_METHOD": "YESCRYPT", "UMASK": "027", "LOGIN_RETRIES": "5",
              "LOGIN_TIMEOUT": "60"}
PWQUALITY_CONF = "/etc/security/pwquality.conf.d/50-partilha.conf"
PWQUALITY = {"minlen": "14", "minclass": "4", "difok": "2", "maxrepeat": "3", "maxsequence": "3",
             "dictcheck": "1", "enforcing": "1", "enforce_for_root": None}

# (path, mode, owner, group)
ACCOUNT_FILES = (("/etc/passwd", 0o644, "root", "root"), ("/etc/group", 0o644, "root", "root"),
                 ("/etc/shadow", 0o640, "root", "shadow"), ("/etc/gshadow", 0o640, "root", "shadow"))

LEGACY_SERVERS = ("telnetd", "inetutils-telnetd", "telnetd-ssl", "rsh-server", "rsh-redone-server",
                  "tftpd", "tftpd-hpa", "atftpd", "nis", "ypserv", "talkd", "inetutils-talkd",
                  "xinetd", "openbsd-inetd", "inetutils-inetd")
LEGACY_CLIENTS = ("telnet", "inetutils-telnet", "rsh-client", "rsh-redone-client", "talk",
                  "inetutils-talk", "tftp", "tftp-hpa", "ypbind-mt")

# Per network namespace, so a container owns them too.
SYSCTL_NET = {
    "net.ipv4.conf.all.rp_filter": 1, "net.ipv4.conf.default.rp_filter": 1,
    "net.ipv4.conf.all.accept_redirects": 0, "net.ipv4.conf.default.accept_redirects": 0,
    "net.ipv6.conf.all.accept_redirects": 0, "net.ipv6.conf.default.accept_redirects": 0,
    "net.ipv4.conf.all.secure_redirects": 0, "net.ipv4.conf.default.secure_redirects": 0,
    "net.ipv4.conf.all.send_redirects": 0, "net.ipv4.conf.default.send_redirects": 0,
    "net.ipv4.conf.all.accept_source_route": 0, "net.ipv4.conf.default.accept_source_route": 0,
    "net.ipv6.conf.all.accept_source_route": 0, "net.ipv6.conf.default.accept_source_route": 0,
    "net.ipv4.conf.all.log_martians": 1, "net.ipv4.conf.default.log_martians": 1,
    "net.ipv4.icmp_echo_ignore_broadcasts": 1, "net.ipv4.icmp_ignore_bogus_error_responses": 1,
    "net.ipv4.tcp_syncookies": 1,
    "net.ipv6.conf.all.accept_ra": 0, "net.ipv6.conf.default.accept_ra": 0,
}
SYSCTL_NO_FORWARDING = {"net.ipv4.ip_forward": 0, "net.ipv6.conf.all.forwarding": 0}
SYSCTL_KERNEL = {"kernel.randomize_va_space": 2, "kernel.yama.ptrace_scope": 1,
                 "fs.suid_dumpable": 0, "kernel.dmesg_restrict": 1, "kernel.kptr_restrict": 2,
                 "fs.protected_hardlinks": 1, "fs.protected_symlinks": 1}
SYSCTL_FILE = "/etc/sysctl.d/60-partilha-baseline.conf"

AUTO_UPGRADES = "/etc/apt/apt.conf.d/20auto-upgrades"
APT_TIMERS = ("apt-daily.timer", "apt-daily-upgrade.timer")
AUDIT_RULES = "/etc/audit/rules.d/50-partilha.rules"
# audit keys the rules file tags its rules with; the test expects each loaded.
AUDIT_KEYS = ("identity", "sudoers", "sshd", "time-change", "logins", "modules", "perm_mod")

NFT_TABLE = "partilha"
NFT_CONF = "/etc/nftables.conf"

# ---- the controls ---------------------------------------------------------------------------

CONTROLS: tuple[Control, ...] = (
    Control("PTL-SSH-01", "SSH accepts public keys only", 1.0,
            "Passwords can be guessed or phished; a key cannot be brute-forced over the network. "
            "Host-based, rhosts and GSSAPI logins are other ways around the key.",
            ("sshd-22", "sshd-23", "sshd-25", "sshd-27", "sshd-29", "sshd-33"),
            ("5.1.9", "5.1.10", "5.1.11")),
    Control("PTL-SSH-02", "SSH refuses empty passwords", 1.0,
            "An account with an empty password must never be reachable over the network.",
            ("sshd-28",), ("5.1.19",)),
    Control("PTL-SSH-03", "Root logs in by key on nodes only; guests have no root SSH login", 1.0,
            "PVE's cluster tools need root's key login on nodes; on guests a named admin with "
            "sudo leaves a trace of who did what, and root's login is closed.",
            ("sshd-06",), ("5.1.20",)),
    Control("PTL-SSH-04", "SSH uses strong ciphers only", 1.0,
            "Only AEAD and CTR ciphers without known weaknesses are offered.",
            ("sshd-01",), ("5.1.6",)),
    Control("PTL-SSH-05", "SSH uses strong key exchange only", 1.0,
            "Only (post-quantum hybrid) curve25519 and large-group Diffie-Hellman key exchanges.",
            ("sshd-02",), ("5.1.12",)),
    Control("PTL-SSH-06", "SSH uses strong MACs only", 1.0,
            "Only encrypt-then-MAC SHA-2 and UMAC-128 message authentication.",
            ("sshd-03",), ("5.1.15",)),
    Control("PTL-SSH-07", "SSH limits authentication attempts and unauthenticated sessions", 0.7,
            "Few tries per connection, a short grace time and bounded start-ups slow brute force "
            "and denial of service.",
            ("sshd-18", "sshd-19", "sshd-20", "sshd-21"), ("5.1.13", "5.1.16", "5.1.17", "5.1.18")),
    Control("PTL-SSH-08", "SSH closes dead sessions", 0.5,
            "Encrypted client-alive probes end sessions whose client vanished.",
            ("sshd-36", "sshd-37"), ("5.1.7",)),
    Control("PTL-SSH-09", "SSH forwards nothing (agent, TCP, X11, tunnels)", 1.0,
            "Forwarding turns a host into a pivot around the firewall and exposes the agent.",
            ("sshd-38", "sshd-39", "sshd-40", "sshd-41", "sshd-42"), ("5.1.8",)),
    Control("PTL-SSH-10", "SSH logs verbosely", 0.5,
            "VERBOSE logs the key fingerprint of every login: evidence of who logged in.",
            ("sshd-13",), ("5.1.14",)),
    Control("PTL-SSH-11", "SSH ignores user environments, checks file modes, uses PAM", 0.7,
            "User-supplied environments can bypass restrictions (LD_PRELOAD); StrictModes refuses "
            "keys others can write; PAM applies account and session policy.",
            ("sshd-11", "sshd-17"), ("5.1.21", "5.1.22")),
    Control("PTL-SSH-12", "sshd configuration and private host keys are root's alone", 1.0,
            "Readable configuration helps an attacker; a readable host key lets one impersonate "
            "the host.",
            ("sshd-05",), ("5.1.1", "5.1.2")),
    Control("PTL-ACC-01", "Guests are administered by a named key-only account with sudo", 1.0,
            "The admin account has no password, only the operator's key, and sudo; root's SSH "
            "login can then be closed (PTL-SSH-03).",
            (), ("5.2.1",), hosts="guests",
            out_of_scope="nodes keep root's key login for PVE's cluster SSH (PTL-SSH-03)"),
    Control("PTL-ACC-02", "sudo runs commands in a pseudo-terminal and logs them", 0.7,
            "use_pty stops background processes from keeping the terminal; the log file records "
            "every privileged command.",
            (), ("5.2.2", "5.2.3")),
    Control("PTL-ACC-03", "Password aging, hashing and umask are set in login.defs", 0.7,
            "Passwords expire, cannot be changed twice a day, are hashed with yescrypt; new files "
            "are not world-readable.",
            ("os-05",), ("5.4.1.1", "5.4.1.2", "5.4.1.3", "5.4.1.4", "5.4.3.3")),
    Control("PTL-ACC-04", "PAM enforces strong passwords", 0.7,
            "pam_pwquality rejects short, simple and dictionary passwords, for root too.",
            (), ("5.3.1.3", "5.3.2.3", "5.3.3.2.1", "5.3.3.2.2", "5.3.3.2.3", "5.3.3.2.4",
                 "5.3.3.2.5", "5.3.3.2.6", "5.3.3.2.7", "5.3.3.2.8")),
    Control("PTL-FILE-01", "Account databases have safe owners and modes", 1.0,
            "passwd and group are world-readable but root-writable; shadow and gshadow are "
            "readable by root and the shadow group only.",
            ("os-02", "os-03"), ("7.1.1", "7.1.3", "7.1.5", "7.1.7")),
    Control("PTL-SVC-01", "No legacy network servers (telnet, rsh, tftp, NIS, talk, inetd)", 1.0,
            "These servers send credentials in clear text or trust addresses.",
            ("package-01", "package-02", "package-03", "package-05", "package-06"),
            ("2.1.10", "2.1.16", "2.1.19")),
    Control("PTL-SVC-02", "No legacy network clients (telnet, rsh, talk, tftp, NIS)", 0.5,
            "Clear-text clients invite their use and their credentials on the wire.",
            (), ("2.2.1", "2.2.2", "2.2.3", "2.2.4")),
    Control("PTL-TIME-01", "Time is synchronised by chrony, the only time daemon", 0.7,
            "Logs, Kerberos-like tokens, TLS and backups need one correct clock.",
            (), ("2.3.1.1", "2.3.3.3"), in_container=NO_CLOCK),
    Control("PTL-AUD-01", "auditd runs", 1.0,
            "The kernel's audit trail records security-relevant events for investigation.",
            ("package-08",), ("6.2.1.1", "6.2.1.2"), in_container=NO_AUDIT),
    Control("PTL-AUD-02", "Audit rules watch identity, sudo, sshd, time, logins, modules, "
            "permissions", 1.0,
            "Changes to who may log in and as what, and to the clock and kernel, leave a record.",
            (), ("6.2.3.1", "6.2.3.4", "6.2.3.8", "6.2.3.9", "6.2.3.12", "6.2.3.19", "6.2.3.21"),
            in_container=NO_AUDIT),
    Control("PTL-UPD-01", "Security updates install unattended", 1.0,
            "Known vulnerabilities are patched within a day without waiting for an operator.",
            (), ("1.2.2.1",)),
    Control("PTL-FW-01", "An nftables firewall drops inbound traffic by default", 1.0,
            "Only what is declared reaches the host; loopback, replies and essential ICMP pass.",
            (), ("4.3.1", "4.3.4", "4.3.5", "4.3.6", "4.3.7", "4.3.8", "4.3.9", "4.3.10")),
    Control("PTL-FW-02", "SSH is accepted from the management network only", 1.0,
            "Administration comes from the management network (in the lab, also from the "
            "automation host's gateway address); nothing else may even try to log in.",
            (), ("4.3.8", "5.1.4")),
    Control("PTL-FW-03", "Only the ports a host's services declare are open", 1.0,
            "A service listening by mistake stays unreachable.",
            (), ("2.1.22",)),
    Control("PTL-NET-01", "The network stack ignores redirects and source routes, filters "
            "reverse paths, logs martians, uses SYN cookies", 0.7,
            "Per network namespace, so a container applies it to its own stack.",
            ("sysctl-02", "sysctl-03", "sysctl-04", "sysctl-11", "sysctl-13", "sysctl-14",
             "sysctl-15", "sysctl-16", "sysctl-20", "sysctl-25"),
            ("3.3.2", "3.3.3", "3.3.4", "3.3.5", "3.3.6", "3.3.7", "3.3.8", "3.3.9", "3.3.10",
             "3.3.11")),
    Control("PTL-NET-02", "Guests do not forward IP packets", 0.7,
            "A guest is an end host; forwarding would make it a router between networks.",
            ("sysctl-01",), ("3.3.1",), hosts="guests",
            out_of_scope="a PVE node routes its SDN zones' traffic"),
    Control("PTL-KRN-01", "Kernel hardening: ASLR, ptrace scope, no setuid core dumps, "
            "restricted kernel pointers and logs, protected links", 0.7,
            "Makes memory-corruption exploits and local information leaks harder.",
            ("sysctl-31a", "sysctl-32"), ("1.5.1", "1.5.2", "1.5.3"), in_container=NO_KERNEL),
)

BY_ID = {c.id: c for c in CONTROLS}
