#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tcpcap.py - a TCP relay that records every byte it carries, both ways,
into a capture file: what a network capture of the link to the escrow
would hold (tests/integration/maint/maint.t greps it for the password).

    tcpcap.py LISTEN_PORT UPSTREAM_PORT CAPTURE_FILE
"""
import socket
import sys
import threading

lock = threading.Lock()


def pump(src, dst, cap, tag):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            with lock:
                cap.write(tag + b + b"\n")
                cap.flush()
            dst.sendall(b)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    lport, uport, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    cap = open(path, "ab")
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", lport))
    ls.listen(16)
    while True:
        c, _ = ls.accept()
        try:
            u = socket.create_connection(("127.0.0.1", uport), timeout=2)
            u.settimeout(None)
        except OSError:
            c.close()
            continue
        threading.Thread(target=pump, args=(c, u, cap, b">"), daemon=True).start()
        threading.Thread(target=pump, args=(u, c, cap, b"<"), daemon=True).start()


if __name__ == "__main__":
    main()
