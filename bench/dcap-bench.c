/* dcap-bench - verifications per second of one quote with its collateral.
 *
 *   dcap-bench QUOTE COLLATERAL NOW SECONDS [--fresh]
 *
 * Parses the quote and verifies it against the collateral at NOW in a loop
 * for SECONDS; the collateral is parsed once and its verification cached
 * (what a verifier with cached collateral does), or with --fresh parsed and
 * verified from scratch each time. Prints one JSON line: count, per_s,
 * p50_us, p99_us, max_us.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cocoon/dcap.h"
#include "cocoon/util.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: dcap-bench QUOTE COLLATERAL NOW SECONDS [--fresh]\n");
		return 2;
	}
	bool fresh = argc > 5 && !strcmp(argv[5], "--fresh");
	struct cerr err = CERR_INIT;
	char *q = NULL, *cj = NULL;
	size_t ql, cl;
	time_t t;
	if (read_file(argv[1], DCAP_QUOTE_MAX, &q, &ql, &err) < 0 ||
	    read_file(argv[2], DCAP_COLLATERAL_MAX, &cj, &cl, &err) < 0 ||
	    dcap_parse_time(argv[3], &t) < 0) {
		fprintf(stderr, "dcap-bench: %s\n", err.msg[0] ? err.msg : "bad NOW");
		return 1;
	}
	double secs = atof(argv[4]);
	struct dcap_collateral c;
	if (dcap_collateral_parse(cj, cl, &c, &err) < 0) {
		fprintf(stderr, "dcap-bench: %s\n", err.msg);
		return 1;
	}
	size_t cap = 1 << 20, n = 0;
	double *lat = malloc(cap * sizeof(double));
	double start = now_us(), end = start + secs * 1e6;
	while (n < cap) {
		double t0 = now_us();
		if (t0 >= end)
			break;
		if (fresh) {
			dcap_collateral_free(&c);
			if (dcap_collateral_parse(cj, cl, &c, &err) < 0)
				return 1;
		}
		struct dcap_quote quote;
		struct dcap_result res;
		if (dcap_quote_parse((const uint8_t *)q, ql, &quote, &err) < 0 ||
		    dcap_verify(&quote, &c, t, &res, &err) < 0) {
			fprintf(stderr, "dcap-bench: %s\n", err.msg);
			return 1;
		}
		lat[n++] = now_us() - t0;
	}
	double total = now_us() - start;
	qsort(lat, n, sizeof(double), cmp);
	printf("{\"count\": %zu, \"per_s\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f, \"max_us\": "
	       "%.1f}\n",
	       n, n / (total / 1e6), lat[n / 2], lat[n * 99 / 100], lat[n - 1]);
	dcap_collateral_free(&c);
	free(lat);
	free(q);
	free(cj);
	return 0;
}
