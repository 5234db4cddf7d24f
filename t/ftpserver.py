#!/usr/bin/python3
# ftpserver.py - an anonymous read-only FTP server on loopback for the tests (pyftpdlib), as
# EMPIAR's ftp.ebi.ac.uk serves world_availability: ftpserver.py ROOT PORTFILE LOG [RATE]
# writes its port to PORTFILE once it listens and logs every command to LOG; RATE (bytes a
# second) slows every download so that a test can kill a client mid-way.
import logging
import os
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, ThrottledDTPHandler
from pyftpdlib.servers import FTPServer

root, portfile, logfile = sys.argv[1:4]
rate = int(sys.argv[4]) if len(sys.argv) > 4 else 0
logging.basicConfig(filename=logfile, level=logging.DEBUG, format="%(message)s")
auth = DummyAuthorizer()
auth.add_anonymous(root)


class Handler(FTPHandler):
    authorizer = auth
    banner = "test FTP server"


if rate > 0:
    # write_limit paces what the server sends (RETR), read_limit what it receives.
    class Slow(ThrottledDTPHandler):
        read_limit = rate
        write_limit = rate
    Handler.dtp_handler = Slow

server = FTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % server.address[1])
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
