#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""sp_replay.py - a tiny recording relay and a replayer for nanomsg's
TCP transport (replay.t): the attacker's view of an agent's link.

  sp_replay.py record LISTEN_PORT UPSTREAM_PORT OUT.jsonl
      forwards every connection on 127.0.0.1:LISTEN_PORT to
      127.0.0.1:UPSTREAM_PORT unchanged, and appends each SP message
      (after the 8-byte protocol header, each is an 8-byte big-endian
      length and its bytes) to OUT as one JSON line:
      {"conn": N, "dir": "c2s"|"s2c", "hex": "..."}.  Runs until killed.
  sp_replay.py replay PORT IN.jsonl CONN [COUNT]
      connects to 127.0.0.1:PORT as the recorded client did, sends
      connection CONN's client messages (the first COUNT, default all)
      byte for byte, one by one, each after the peer's answer or 1 s,
      and prints what comes back as JSON lines, then "closed" or
      "open" (the peer did not close within 2 s of the last message).
"""
import json
import socket
import struct
import sys
import threading

SP_HDR = 8


def read_exact(s, n):
    buf = b''
    while len(buf) < n:
        try:
            d = s.recv(n - len(buf))
        except OSError:
            return None
        if not d:
            return None
        buf += d
    return buf


def record(listen_port, upstream_port, out):
    lock = threading.Lock()
    f = open(out, 'a', buffering=1)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', listen_port))
    srv.listen(16)
    conn = 0

    def pump(src, dst, n, direction):
        hdr = read_exact(src, SP_HDR)
        if hdr is not None:
            try:
                dst.sendall(hdr)
            except OSError:
                hdr = None
        while hdr is not None:
            ln = read_exact(src, 8)
            if ln is None:
                break
            body = read_exact(src, struct.unpack('>Q', ln)[0])
            if body is None:
                break
            with lock:
                f.write(json.dumps({'conn': n, 'dir': direction,
                                    'hex': body.hex()}) + '\n')
            try:
                dst.sendall(ln + body)
            except OSError:
                break
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    while True:
        c, _ = srv.accept()
        conn += 1
        u = socket.create_connection(('127.0.0.1', upstream_port))
        for a, b, d in ((c, u, 'c2s'), (u, c, 's2c')):
            threading.Thread(target=pump, args=(a, b, conn, d),
                             daemon=True).start()


def replay(port, path, conn, count):
    msgs = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r['conn'] == conn and r['dir'] == 'c2s':
                msgs.append(bytes.fromhex(r['hex']))
    if count is not None:
        msgs = msgs[:count]
    if not msgs:
        print('nothing recorded for connection %d' % conn, file=sys.stderr)
        return 1
    s = socket.create_connection(('127.0.0.1', port))
    # A raw REQ peer's header: "\0SP\0", protocol 48 (REQ), reserved 0.
    s.sendall(b'\0SP\0' + struct.pack('>H', 48) + b'\0\0')
    if read_exact(s, SP_HDR) is None:
        print('closed')
        return 0
    closed = False
    for m in msgs:
        try:
            s.sendall(struct.pack('>Q', len(m)) + m)
        except OSError:
            closed = True
            break
        s.settimeout(1.0)
        try:
            ln = read_exact(s, 8)
        except socket.timeout:
            continue
        if ln is None:
            closed = True
            break
        body = read_exact(s, struct.unpack('>Q', ln)[0])
        if body is None:
            closed = True
            break
        print(json.dumps({'dir': 's2c', 'hex': body.hex()}))
    if not closed:
        s.settimeout(2.0)
        try:
            closed = s.recv(1) == b''
        except socket.timeout:
            pass
        except OSError:
            closed = True
    print('closed' if closed else 'open')
    s.close()
    return 0


def main(argv):
    if len(argv) == 5 and argv[1] == 'record':
        record(int(argv[2]), int(argv[3]), argv[4])
        return 0
    if len(argv) in (5, 6) and argv[1] == 'replay':
        return replay(int(argv[2]), argv[3], int(argv[4]),
                      int(argv[5]) if len(argv) == 6 else None)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
