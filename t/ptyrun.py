#!/usr/bin/python3
# ptyrun.py TTYLOG STDOUT COLS [--term-on FILE] -- CMD...: CMD with its standard error on a
# pseudo-terminal COLS wide (everything written there kept in TTYLOG, as the terminal
# got it), its standard output into STDOUT; SIGTERM to CMD when FILE appears.  Exits
# with CMD's status (128 + the signal when one killed it).
import fcntl, os, pty, select, signal, struct, subprocess, sys, termios
log, out, cols = sys.argv[1], sys.argv[2], int(sys.argv[3])
args = sys.argv[4:]
term_on = None
if args[0] == "--term-on":
    term_on, args = args[1], args[2:]
assert args[0] == "--"
args = args[1:]
master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
with open(out, "wb") as o, open("/dev/null", "rb") as i:
    p = subprocess.Popen(args, stdin=i, stdout=o, stderr=slave)
os.close(slave)
got = bytearray()
sent = False
while True:
    r, _, _ = select.select([master], [], [], 0.05)
    if r:
        try:
            b = os.read(master, 65536)
        except OSError:
            b = b""
        if not b:
            break
        got += b
    if term_on and not sent and os.path.exists(term_on):
        p.send_signal(signal.SIGTERM)
        sent = True
rc = p.wait()
open(log, "wb").write(bytes(got))
sys.exit(rc if rc >= 0 else 128 - rc)
