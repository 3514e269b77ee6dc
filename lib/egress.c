/* egress.c - nftables ruleset of the egress firewall; see cocoon/egress.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cocoon/egress.h"
#include "cocoon/runcmd.h"
#include "cocoon/util.h"

int egress_parse_cidr(const char *s, struct egress_addr *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long p;
	char *end;

	memset(out, 0, sizeof(*out));
	if (n == 0 || n >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (inet_pton(AF_INET, buf, out->a) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->a) == 1)
		out->family = AF_INET6;
	else
		return -EINVAL;
	out->prefix = out->family == AF_INET ? 32 : 128;
	if (slash) {
		if (!slash[1] || slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		p = strtoul(slash + 1, &end, 10);
		if (errno || *end || p > out->prefix)
			return -EINVAL;
		out->prefix = (unsigned)p;
	}
	/* host bits cleared: nft refuses a prefix with them set */
	for (unsigned bit = out->prefix; bit < (out->family == AF_INET ? 32u : 128u); bit++)
		out->a[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	return 0;
}

int egress_resolve_system(const char *host, struct egress_addr *out, size_t max, struct cerr *err)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
	size_t n = 0;
	int r = getaddrinfo(host, NULL, &hints, &res);

	if (r)
		return cerr_setx(err, EHOSTUNREACH,
		                 "egress rule host '%s' does not resolve (%s); the firewall stays "
		                 "closed: fix DNS or use a cidr rule",
		                 host, gai_strerror(r));
	for (ai = res; ai && n < max; ai = ai->ai_next) {
		struct egress_addr a = {.family = ai->ai_family};
		bool dup = false;
		if (ai->ai_family == AF_INET) {
			memcpy(a.a, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
			a.prefix = 32;
		} else if (ai->ai_family == AF_INET6) {
			memcpy(a.a, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
			a.prefix = 128;
		} else {
			continue;
		}
		for (size_t i = 0; i < n; i++)
			dup |= !memcmp(&out[i], &a, sizeof(a));
		if (!dup)
			out[n++] = a;
	}
	freeaddrinfo(res);
	if (!n)
		return cerr_setx(err, EHOSTUNREACH, "egress rule host '%s' has no address", host);
	return (int)n;
}

static void put_rule(struct wbuf *w, const struct egress_addr *a, const struct compose_egress *e)
{
	char txt[INET6_ADDRSTRLEN];
	const char *proto = e->proto == COMPOSE_PROTO_UDP ? "udp" : "tcp";

	inet_ntop(a->family, a->a, txt, sizeof(txt));
	wbuf_printf(w, "\t\t%s daddr %s/%u %s dport { ", a->family == AF_INET ? "ip" : "ip6", txt,
	            a->prefix, proto);
	for (size_t i = 0; i < e->n_ports; i++)
		wbuf_printf(w, "%s%u", i ? ", " : "", e->ports[i]);
	wbuf_printf(w, " } accept\n");
}

static int put_allowed(struct wbuf *w, const struct compose_spec *spec, egress_resolve_fn resolve,
                       struct cerr *err)
{
	for (size_t i = 0; i < spec->n_egress; i++) {
		const struct compose_egress *e = &spec->egress[i];
		struct egress_addr addrs[EGRESS_MAX_ADDRS];
		int n = 1;

		if (!e->n_ports)
			return cerr_setx(err, EINVAL, "x-cocoon.egress[%zu]: no ports", i);
		if (e->cidr) {
			if (egress_parse_cidr(e->cidr, &addrs[0]) < 0)
				return cerr_setx(
				    err, EINVAL,
				    "x-cocoon.egress[%zu]: cidr '%s' is not ADDR/PREFIX", i,
				    e->cidr);
			wbuf_printf(w, "\t\t# x-cocoon.egress[%zu]: cidr\n", i);
		} else {
			n = resolve(e->host, addrs, EGRESS_MAX_ADDRS, err);
			if (n < 0)
				return n;
			/* the name itself is not printed: it is spec text */
			wbuf_printf(w, "\t\t# x-cocoon.egress[%zu]: host, resolved once\n", i);
		}
		for (int j = 0; j < n; j++)
			put_rule(w, &addrs[j], e);
	}
	return 0;
}

int egress_ruleset(const struct compose_spec *spec, egress_resolve_fn resolve, struct wbuf *w,
                   struct cerr *err)
{
	static const char *const chains[][2] = {{"output", "the VM's own processes"},
	                                        {"forward", "containers"}};
	int r;

	wbuf_printf(w, "# cocoon egress firewall (x-cocoon.egress); applied with nft -f as one\n"
	               "# transaction. DNS is host-controlled: host rules hold the addresses\n"
	               "# the names had when this was written.\n"
	               "table inet " EGRESS_TABLE " {}\n"
	               "delete table inet " EGRESS_TABLE "\n"
	               "table inet " EGRESS_TABLE " {\n");
	for (size_t c = 0; c < ARRAY_SIZE(chains); c++) {
		bool fwd = c == 1;
		wbuf_printf(w,
		            "\tchain %s {\n"
		            "\t\t# %s: new connections only where the spec allows\n"
		            "\t\ttype filter hook %s priority filter; policy drop;\n",
		            chains[c][0], chains[c][1], chains[c][0]);
		if (!fwd)
			wbuf_printf(
			    w,
			    "\t\toifname \"lo\" accept\n"
			    "\t\t# IPv6 neighbour discovery on the link only (IPv4's ARP is\n"
			    "\t\t# not filtered here): to multicast or link-local addresses,\n"
			    "\t\t# hop limit 255 as RFC 4861 has it; nothing else of ICMPv6\n"
			    "\t\tip6 daddr { ff02::/16, fe80::/10 } ip6 hoplimit 255 icmpv6 type "
			    "{ nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } "
			    "accept\n");
		wbuf_printf(w, "\t\tct state established,related accept\n"
		               "\t\tct state invalid drop\n");
		/* forward: connections from outside to published ports; output:
		 * the VM's own processes to them (the engine DNATs both inward) */
		wbuf_printf(w, "\t\t# to published ports (the engine's DNAT, inward)\n"
		               "\t\tct status dnat accept\n");
		r = put_allowed(w, spec, resolve, err);
		if (r < 0)
			return r;
		wbuf_printf(w, "\t}\n");
	}
	wbuf_printf(w, "}\n");
	r = wbuf_status(w);
	return r < 0 ? cerr_set(err, -r, "egress ruleset") : 0;
}

int egress_apply(const char *nft, const char *ruleset, size_t len, struct cerr *err)
{
	char path[] = "/tmp/cocoon-egress-XXXXXX";
	_cleanup_close_ int fd = mkstemp(path);
	struct cmd_result res = {0};
	const char *argv[] = {nft, "-f", path, NULL};
	int r;

	if (fd < 0)
		return cerr_set(err, errno, "temporary file for the egress ruleset");
	r = write_all(fd, ruleset, len);
	if (r < 0) {
		unlink(path);
		return cerr_set(err, -r, "writing %s", path);
	}
	r = cmd_run(argv, 30000, 65536, &res, err);
	unlink(path);
	if (r < 0)
		return cerr_prefix(err, r, "running %s -f", nft);
	if (res.exit_code != 0) {
		r = cerr_setx(err, EIO, "%s -f refused the egress ruleset (exit %d): %s", nft,
		              res.exit_code, res.out ? res.out : "");
		cmd_result_free(&res);
		return r;
	}
	cmd_result_free(&res);
	return 0;
}

int egress_setup(const struct compose_spec *spec, egress_resolve_fn resolve, const char *nft,
                 enum egress_stage *stage, struct cerr *err)
{
	struct wbuf w;
	int r;

	wbuf_init(&w, 1024 * 1024);
	if (stage)
		*stage = EGRESS_STAGE_RULESET;
	r = egress_ruleset(spec, resolve, &w, err);
	if (r >= 0) {
		if (stage)
			*stage = EGRESS_STAGE_APPLY;
		r = egress_apply(nft, (const char *)w.p, w.len, err);
	}
	wbuf_free(&w);
	return r;
}
