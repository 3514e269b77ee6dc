/* test_egress.c - the egress ruleset from x-cocoon.egress, with a resolver
 * the test controls; `nft -c` checks the syntax when nft is installed. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cocoon/egress.h"

#define IMG                    \
	"127.0.0.1:5000/demo/" \
	"web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int fake_resolve(const char *host, struct egress_addr *out, size_t max, struct cerr *err)
{
	if (!strcmp(host, "two.example")) {
		assert_int_equal(egress_parse_cidr("192.0.2.7", &out[0]), 0);
		assert_int_equal(egress_parse_cidr("2001:db8::7", &out[1]), 0);
		return 2;
	}
	return cerr_setx(err, EHOSTUNREACH, "egress rule host '%s' does not resolve", host);
}

static char *ruleset(const char *egress, int *r, struct cerr *err)
{
	char text[2048];
	struct compose_spec s;
	struct wbuf w;
	size_t n;

	snprintf(text, sizeof(text),
	         "services:\n  web:\n    image: " IMG "\nx-cocoon:\n  egress:\n%s", egress);
	assert_int_equal(compose_parse("t.yml", text, strlen(text), NULL, &s, NULL), 0);
	wbuf_init(&w, 0);
	*r = egress_ruleset(&s, fake_resolve, &w, err);
	compose_spec_free(&s);
	wbuf_u8(&w, 0);
	return (char *)wbuf_steal(&w, &n);
}

static void rules(void **state)
{
	struct cerr err = CERR_INIT;
	int r;
	char *t = ruleset("    - {cidr: 10.0.2.2/32, ports: [11001], proto: tcp}\n"
	                  "    - {cidr: 10.9.8.7/8, ports: [53, 54], proto: udp}\n"
	                  "    - {host: two.example, ports: [443]}\n",
	                  &r, &err);

	assert_int_equal(r, 0);
	assert_non_null(strstr(t, "delete table inet cocoon_egress\n"));
	assert_non_null(strstr(t, "hook output priority filter; policy drop;"));
	assert_non_null(strstr(t, "hook forward priority filter; policy drop;"));
	assert_non_null(strstr(t, "ct status dnat accept"));
	assert_non_null(strstr(t, "ip daddr 10.0.2.2/32 tcp dport { 11001 } accept"));
	/* host bits cleared */
	assert_non_null(strstr(t, "ip daddr 10.0.0.0/8 udp dport { 53, 54 } accept"));
	assert_non_null(strstr(t, "ip daddr 192.0.2.7/32 tcp dport { 443 } accept"));
	assert_non_null(strstr(t, "ip6 daddr 2001:db8::7/128 tcp dport { 443 } accept"));
	/* the host name, spec text, is not in the ruleset */
	assert_null(strstr(t, "two.example"));
	if (access("/usr/sbin/nft", X_OK) == 0 && geteuid() == 0) {
		FILE *p = popen("/usr/sbin/nft -c -f - >/dev/null 2>&1", "w");
		assert_non_null(p);
		fputs(t, p);
		assert_int_equal(pclose(p), 0);
	}
	free(t);
}

static void no_rules_drop_everything(void **state)
{
	struct cerr err = CERR_INIT;
	int r;
	char text[] = "services:\n  web:\n    image: " IMG "\n";
	struct compose_spec s;
	struct wbuf w;

	assert_int_equal(compose_parse("t.yml", text, strlen(text), NULL, &s, NULL), 0);
	wbuf_init(&w, 0);
	r = egress_ruleset(&s, fake_resolve, &w, &err);
	assert_int_equal(r, 0);
	wbuf_u8(&w, 0);
	/* no address but the link's, for neighbour discovery, in output only */
	{
		const char *nd = "ip6 daddr { ff02::/16, fe80::/10 } ip6 hoplimit 255 icmpv6 type "
		                 "{ nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } "
		                 "accept\n";
		char *first = strstr((char *)w.p, "daddr");

		assert_non_null(first);
		assert_ptr_equal(first, strstr((char *)w.p, nd) + strlen("ip6 "));
		assert_null(strstr(first + 1, "daddr"));
		assert_null(strstr((char *)w.p, "echo"));
	}
	assert_non_null(strstr((char *)w.p, "policy drop"));
	compose_spec_free(&s);
	wbuf_free(&w);
}

static void unresolvable_host_fails_closed(void **state)
{
	struct cerr err = CERR_INIT;
	int r;
	char *t = ruleset("    - {host: nowhere.example, ports: [443]}\n", &r, &err);

	assert_int_equal(r, -EHOSTUNREACH);
	assert_non_null(strstr(err.msg, "nowhere.example"));
	free(t);
}

static void cidr_parse(void **state)
{
	struct egress_addr a;

	assert_int_equal(egress_parse_cidr("10.1.2.3/24", &a), 0);
	assert_int_equal(a.prefix, 24);
	assert_int_equal(a.a[3], 0);
	assert_int_equal(egress_parse_cidr("::1", &a), 0);
	assert_int_equal(a.prefix, 128);
	assert_int_equal(egress_parse_cidr("10.1.2.3/33", &a), -EINVAL);
	assert_int_equal(egress_parse_cidr("10.1.2.3/", &a), -EINVAL);
	assert_int_equal(egress_parse_cidr("10.1.2.3/-1", &a), -EINVAL);
	assert_int_equal(egress_parse_cidr("1.2.3.4; flush ruleset", &a), -EINVAL);
	assert_int_equal(egress_parse_cidr("", &a), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rules),
	    cmocka_unit_test(no_rules_drop_everything),
	    cmocka_unit_test(unresolvable_host_fails_closed),
	    cmocka_unit_test(cidr_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
