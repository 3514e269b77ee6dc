#!/usr/bin/env python3
"""cocoon-egress in network namespaces: what the spec allows is reachable,
everything else is not, from the VM's own processes (output hook) and from a
"container" (forward hook).

usage: egress_cases.py COCOON_EGRESS CASE      (CASE 'list' prints the names)

Three namespaces of this run: `vm` (where the ruleset is applied, forwarding
on), `out` (the outside: TCP listeners on 10.77.N.2 and 10.77.N.3) and `ctr`
(standing in for a container behind the engine's bridge: its default route is
the vm, so its traffic takes the vm's forward path, as a container's does).
Only these namespaces' own addresses are used. The host rule's name resolves
through /etc/netns/<vm>/hosts, which `ip netns exec` mounts over /etc/hosts
in that namespace only. Skips (77) without root, ip or nft.
"""
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dockerfix import Fixture  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
import hostilerows  # noqa: E402

EGRESS = None
CASES = {}
SKIP = 77

LISTEN = r"""
import selectors, socket, sys
sel = selectors.DefaultSelector()
for spec in sys.argv[1:]:
    a, p = spec.rsplit(":", 1)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a, int(p)))
    s.listen(16)
    sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for k, _ in sel.select():
        c, _ = k.fileobj.accept()
        c.sendall(b"ok")
        c.close()
"""

CONNECT = r"""
import socket, sys
s = socket.socket()
s.settimeout(float(sys.argv[3]))
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("open" if s.recv(2) == b"ok" else "odd")
except OSError as e:
    print("refused", e)
"""


# the container's side: a static client, each ADDR:PORT -> "ADDR:PORT open|refused"
CONNECT_C = r"""
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char a[64];
		struct sockaddr_in sa = {.sin_family = AF_INET};
		struct pollfd p;
		int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), e = 0;
		socklen_t el = sizeof(e);
		char buf[2] = {0};

		snprintf(a, sizeof(a), "%s", argv[i]);
		*strchr(a, ':') = 0;
		inet_pton(AF_INET, a, &sa.sin_addr);
		sa.sin_port = htons(atoi(strchr(argv[i], ':') + 1));
		connect(s, (struct sockaddr *)&sa, sizeof(sa));
		p = (struct pollfd){.fd = s, .events = POLLOUT};
		int ok = poll(&p, 1, 1500) == 1 && !getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &el) && !e;
		if (ok) {
			p.events = POLLIN;
			ok = poll(&p, 1, 1500) == 1 && read(s, buf, 2) == 2 && !memcmp(buf, "ok", 2);
		}
		printf("%s %s\n", argv[i], ok ? "open" : "refused");
		close(s);
	}
	return 0;
}
"""


# ICMPv6 from the vm (raw socket; the kernel fills in the checksum): each
# KIND:DST:HOPS -> one packet whose marker the receiver looks for
ICMP6_SEND = r"""
import socket, struct, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
for spec in sys.argv[1:]:
    kind, hops, dst = spec.split(",")
    suffix = {"echo": "e", "nsg": "1", "nsm": "2", "nsh": "3"}[kind]
    marker = socket.inet_pton(socket.AF_INET6, "2001:db8:bad::" + suffix)
    if kind == "echo":
        pkt = struct.pack("!BBHHH", 128, 0, 0, 0x77, 1) + b"cocoon-" + marker
    else:  # a neighbour solicitation whose target is the marker
        pkt = struct.pack("!BBHI", 135, 0, 0, 0) + marker
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, int(hops))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, int(hops))
    try:
        s.sendto(pkt, (dst, 0, 0, socket.if_nametoindex("v0")))
        print(spec, "sent")
    except OSError as e:
        print(spec, "send-refused", e.errno)
"""

# the receiver in `out`: prints the markers of the ICMPv6 packets it got
ICMP6_RECV = r"""
import select, socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
print("ready", flush=True)
seen = set()
end = time.time() + float(sys.argv[1])
while time.time() < end:
    if select.select([s], [], [], 0.1)[0]:
        data, addr = s.recvfrom(2048)
        if data[0] == 135 and data[8:14] == socket.inet_pton(socket.AF_INET6, "2001:db8:bad::")[:6]:
            seen.add("ns:" + socket.inet_ntop(socket.AF_INET6, data[8:24]))
        elif data[0] == 128 and b"cocoon-" in data:
            seen.add("echo")
print(" ".join(sorted(seen)), flush=True)
"""


class Skip(Exception):
    pass


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


class Net:
    def __init__(self, d):
        n = os.getpid() % 200 + 20
        self.d = d
        self.sub = n
        self.vm, self.out, self.ctr = (f"ceg{x}{os.getpid()}" for x in "vok")
        self.procs = []
        self.made = []

    def up(self):
        n = self.sub
        for ns in (self.vm, self.out, self.ctr):
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        # vm <-> out: 10.77.n.0/24 (out holds .2 and .3)
        sh("ip", "link", "add", "v0", "netns", self.vm, "type", "veth", "peer", "name", "o0",
           "netns", self.out)
        sh("ip", "-n", self.vm, "addr", "add", f"10.77.{n}.1/24", "dev", "v0")
        sh("ip", "-n", self.out, "addr", "add", f"10.77.{n}.2/24", "dev", "o0")
        sh("ip", "-n", self.out, "addr", "add", f"10.77.{n}.3/24", "dev", "o0")
        # vm <-> ctr: 10.78.n.0/24, the ctr's default route is the vm
        sh("ip", "link", "add", "v1", "netns", self.vm, "type", "veth", "peer", "name", "c0",
           "netns", self.ctr)
        sh("ip", "-n", self.vm, "addr", "add", f"10.78.{n}.1/24", "dev", "v1")
        sh("ip", "-n", self.ctr, "addr", "add", f"10.78.{n}.2/24", "dev", "c0")
        for ns, dev in ((self.vm, "v0"), (self.vm, "v1"), (self.out, "o0"), (self.ctr, "c0")):
            sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", self.ctr, "route", "add", "default", "via", f"10.78.{n}.1")
        sh("ip", "-n", self.out, "route", "add", f"10.78.{n}.0/24", "via", f"10.77.{n}.1")
        sh("ip", "netns", "exec", self.vm, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        os.makedirs(f"/etc/netns/{self.vm}", exist_ok=True)
        with open(f"/etc/netns/{self.vm}/hosts", "w") as f:
            f.write(f"127.0.0.1 localhost\n10.77.{n}.3 allowed.test\n")

    def listen(self, ns, *addrs):
        p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", LISTEN, *addrs],
                             stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        assert p.stdout.readline().strip() == "ready"

    def connect(self, ns, addr, port, timeout=1.0):
        r = sh("ip", "netns", "exec", ns, sys.executable, "-c", CONNECT, addr, str(port),
               str(timeout))
        return r.stdout.split()[0]

    def down(self):
        for p in self.procs:
            p.kill()
            p.wait()
        for ns in self.made:
            sh("ip", "netns", "del", ns, check=False)
        shutil.rmtree(f"/etc/netns/{self.vm}", ignore_errors=True)


def write_spec(d, n):
    spec = os.path.join(d, "spec")
    os.makedirs(spec, exist_ok=True)
    img = "127.0.0.1:5000/demo/web@sha256:" + "0123456789abcdef" * 4
    with open(os.path.join(spec, "docker-compose.yml"), "w") as f:
        f.write(f"""services:
  web:
    image: {img}
x-cocoon:
  egress:
    - {{cidr: 10.77.{n}.2/32, ports: [8001], proto: tcp}}
    - {{host: allowed.test, ports: [8003]}}
""")
    return spec


def apply(net, spec):
    return sh("ip", "netns", "exec", net.vm, EGRESS, "--spec", spec, check=False)


def reach_table(net, n):
    """(namespace, address, port) -> expected, for the vm and the ctr."""
    want = {}
    for ns in (net.vm, net.ctr):
        want[(ns, f"10.77.{n}.2", 8001)] = "open"      # cidr rule
        want[(ns, f"10.77.{n}.2", 8002)] = "refused"   # other port
        want[(ns, f"10.77.{n}.3", 8003)] = "open"      # host rule, resolved once
        want[(ns, f"10.77.{n}.3", 8001)] = "refused"   # other address
    return want


@case
def allowed_and_refused(net):
    n = net.sub
    net.listen(net.out, f"10.77.{n}.2:8001", f"10.77.{n}.2:8002", f"10.77.{n}.3:8001",
               f"10.77.{n}.3:8003")
    net.listen(net.vm, "127.0.0.1:9000")
    # before: everything open (the test would prove nothing otherwise)
    for (ns, a, p) in reach_table(net, n):
        assert net.connect(ns, a, p) == "open", (ns, a, p, "before the firewall")
    spec = write_spec(net.d, n)
    r = apply(net, spec)
    assert r.returncode == 0, r.stderr
    bad = []
    for (ns, a, p), want in reach_table(net, n).items():
        got = net.connect(ns, a, p)
        if got != want:
            bad.append((ns, a, p, want, got))
    assert not bad, bad
    assert net.connect(net.vm, "127.0.0.1", 9000) == "open", "loopback"
    hostilerows.row("egress: VM and container to an address or port not in x-cocoon.egress",
                    "egress firewall (nft output and forward chains)",
                    "the outside's listeners got none of the 4 refused connections (all 8 "
                    "open before the ruleset), the 4 allowed still connect")
    # re-applying replaces the table in one transaction: still one table
    r = apply(net, spec)
    assert r.returncode == 0, r.stderr
    tables = sh("ip", "netns", "exec", net.vm, "nft", "list", "tables").stdout
    assert tables.count("cocoon_egress") == 1, tables


@case
def unresolvable_host_keeps_previous(net):
    n = net.sub
    net.listen(net.out, f"10.77.{n}.2:8001", f"10.77.{n}.2:8002")
    spec = write_spec(net.d, n)
    assert apply(net, spec).returncode == 0
    before = sh("ip", "netns", "exec", net.vm, "nft", "list", "ruleset").stdout
    path = os.path.join(spec, "docker-compose.yml")
    text = open(path).read().replace("allowed.test", "nowhere.invalid")
    text = text.replace("ports: [8001]", "ports: [8002]")
    open(path, "w").write(text)
    r = apply(net, spec)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "nowhere.invalid" in r.stderr and "stays closed" in r.stderr, r.stderr
    after = sh("ip", "netns", "exec", net.vm, "nft", "list", "ruleset").stdout
    assert before == after, "the ruleset changed after a failure"
    assert net.connect(net.vm, f"10.77.{n}.2", 8002) == "refused"


@case
def container_forward(net):
    """A real container of a dockerd running in the vm namespace: its traffic
    takes the vm's forward hook through the engine's bridge."""
    missing = [t for t in ("dockerd", "docker", "cc") if not shutil.which(t)]
    if missing:
        raise Skip(f"needs {', '.join(missing)}")
    n = net.sub
    net.listen(net.out, f"10.77.{n}.2:8001", f"10.77.{n}.2:8002", f"10.77.{n}.3:8001",
               f"10.77.{n}.3:8003")
    d = os.path.join(net.d, "docker")
    os.makedirs(d)
    f = Fixture(d)
    f.netns = net.vm
    try:
        f.with_bridge()
        sh("ip", "-n", net.out, "route", "add", f"{f.bridge_net}.0/24", "via", f"10.77.{n}.1")
        f.start_dockerd()
        src, exe = os.path.join(d, "connect.c"), os.path.join(d, "connect")
        open(src, "w").write(CONNECT_C)
        subprocess.run(["cc", "-static", "-Os", "-o", exe, src], check=True)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            t.add(exe, "connect")
        tar = os.path.join(d, "image.tar")
        open(tar, "wb").write(buf.getvalue())
        r = f.docker("import", tar, "egress-test:1")
        assert r.returncode == 0, r.stderr
        targets = [f"10.77.{n}.2:8001", f"10.77.{n}.2:8002", f"10.77.{n}.3:8003",
                   f"10.77.{n}.3:8001"]

        def run():
            r = f.docker("run", "--rm", "egress-test:1", "/connect", *targets)
            assert r.returncode == 0, r.stderr
            return dict(line.split() for line in r.stdout.split("\n") if line)
        before = run()
        assert set(before.values()) == {"open"}, ("before the firewall", before)
        r = apply(net, write_spec(net.d, n))
        assert r.returncode == 0, r.stderr
        after = run()
        want = {targets[0]: "open", targets[1]: "refused", targets[2]: "open",
                targets[3]: "refused"}
        assert after == want, after
    except BaseException:
        print(f.logs())
        raise
    finally:
        f.stop()


@case
def icmpv6_only_link_local_nd(net):
    """The output chain lets ICMPv6 out only as neighbour discovery to
    multicast or link-local addresses with hop limit 255: an echo or a
    neighbour solicitation to a global address, or ND with another hop
    limit, is dropped. Checked by what a raw socket in `out` received, before
    (everything arrives: the check can fail) and after the ruleset."""
    for ns, a in ((net.vm, "2001:db8:77::1/64"), (net.out, "2001:db8:77::2/64")):
        sh("ip", "-n", ns, "addr", "add", a, "dev", "v0" if ns == net.vm else "o0", "nodad")
    # an echo and an NS to the global address; NS to the solicited-node
    # multicast group of ::2 with hop limit 255 (allowed) and 64 (not)
    sends = ["echo,64,2001:db8:77::2", "nsg,255,2001:db8:77::2",
             "nsm,255,ff02::1:ff00:2", "nsh,64,ff02::1:ff00:2"]
    allowed = {"ns:2001:db8:bad::2"}
    every = {"echo", "ns:2001:db8:bad::1", "ns:2001:db8:bad::2", "ns:2001:db8:bad::3"}
    # the link-layer addresses first (ND by the kernels themselves)
    for _ in range(50):
        if sh("ip", "netns", "exec", net.vm, sys.executable, "-c",
              "import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); "
              "s.sendto(b'x', ('2001:db8:77::2', 9))", check=False).returncode == 0 and \
                "lladdr" in sh("ip", "-n", net.vm, "-6", "neigh", "show", "2001:db8:77::2").stdout:
            break
        time.sleep(0.1)

    def exchange():
        p = subprocess.Popen(["ip", "netns", "exec", net.out, sys.executable, "-c", ICMP6_RECV,
                              "2.5"], stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        r = sh("ip", "netns", "exec", net.vm, sys.executable, "-c", ICMP6_SEND, *sends)
        out = p.communicate(timeout=20)[0]
        return set(out.split()), r.stdout
    got, sent = exchange()
    assert got == every, ("before the firewall", got, sent)
    r = apply(net, write_spec(net.d, net.sub))
    assert r.returncode == 0, r.stderr
    got, sent = exchange()
    assert got == allowed, ("after the firewall", got, sent)
    hostilerows.row("egress: ICMPv6 echo and ND to a global address, ND with hop limit 64",
                    "egress output chain (ND only to ff02::/16, fe80::/10, hop limit 255)",
                    "raw socket outside: 0 of the 3 arrived (all 4 before the ruleset), "
                    "link-local ND still does")


def main():
    global EGRESS
    hostilerows.take(sys.argv)
    EGRESS = os.path.abspath(sys.argv[1])
    name = sys.argv[2]
    if name == "list":
        print("\n".join(CASES))
        return 0
    missing = [t for t in ("ip", "nft") if not shutil.which(t)]
    if missing or os.geteuid() != 0:
        print(f"skip: needs root and {', '.join(missing) or 'nothing else'}")
        return SKIP
    d = tempfile.mkdtemp(prefix="egress-")
    net = Net(d)
    t0 = time.time()
    try:
        net.up()
        CASES[name](net)
    except Skip as e:
        print(f"skip: {e}")
        return SKIP
    finally:
        net.down()
        shutil.rmtree(d, ignore_errors=True)
    print(f"{name}: ok ({time.time() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
