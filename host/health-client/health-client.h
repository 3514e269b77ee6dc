/* health-client.h - what main.c and attest.c share. */
#ifndef HEALTH_CLIENT_H
#define HEALTH_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cocoon/err.h"

enum { EXIT_ANSWER_ERROR = 1, EXIT_USAGE = 2, EXIT_SYSTEM = 3, EXIT_UNREACHABLE = 4 };

struct hc_conn {
	const char *addr; /* a transport address */
	int timeout_ms;
	bool print_only;
};

/* One request, one reply of at most max bytes (malloc'ed). */
int hc_ask(const struct hc_conn *conn, const char *req, size_t max, uint8_t **reply, size_t *len,
           struct cerr *err);

/* `attest [--nonce HEX] [--out DIR]`; argv[0] is "attest". */
int attest_main(int argc, char **argv, const struct hc_conn *conn, bool json);

#endif
