#!/usr/bin/env python3
"""syslog-sink.py SOCKET LOGFILE PIDFILE

Minimal syslog receiver for a private Sendmail instance: binds a unix
datagram socket (bind-mounted onto /dev/log inside Sendmail's mount
namespace) and appends every message to LOGFILE, one line each. Forks into
the background once the socket is bound, writes PIDFILE, exits on SIGTERM.
"""
import os
import signal
import socket
import sys


def main():
    if len(sys.argv) != 4:
        sys.stderr.write("usage: syslog-sink.py SOCKET LOGFILE PIDFILE\n")
        return 64
    path, logfile, pidfile = sys.argv[1:]
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o666)
    log = open(logfile, "a", buffering=1, encoding="utf-8", errors="replace")

    if os.fork() > 0:
        return 0
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    with open(pidfile, "w") as f:
        f.write("%d\n" % os.getpid())

    def stop(_signum, _frame):
        try:
            os.unlink(path)
        except OSError:
            pass
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        data = sock.recv(65536)
        text = data.decode("utf-8", "replace").rstrip("\n\0")
        # Drop the "<PRI>" prefix; keep the sender's own timestamp and tag.
        if text.startswith("<"):
            end = text.find(">")
            if 0 < end < 5:
                text = text[end + 1:]
        log.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
