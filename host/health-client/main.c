/* health-client - asks a VM's health-monitor one question.
 *
 *   health-client [-c CID | -i worker|proxy|client[:N] | --connect ADDR] [-p PORT]
 *                 [--json] COMMAND [ARGS]
 *
 * Cocoon's flags: -c CID, -p PORT (default 9999), -i INSTANCE, where worker,
 * proxy and client are CIDs 6, 7 and 4, plus 10 x N for the N-th instance
 * (default CID 4). --connect takes any transport address instead (vport:NAME
 * for a VM without vhost-vsock, unix:/tcp: in tests). The reply, text or
 * JSON, is printed as it came (attest: see attest.c); the VM is not trusted,
 * so a reply is bounded
 * (100 MiB) and control characters other than newline and tab are replaced
 * before printing to a terminal.
 *
 * Exit codes: 0 answered, 1 the monitor answered with an error, 2 usage
 * error, 3 local error, 4 the monitor could not be reached or gave no reply.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cocoon-config.h"
#include "cocoon/buf.h"
#include "cocoon/frame.h"
#include "cocoon/cli.h"
#include "cocoon/log.h"
#include "cocoon/transport.h"
#include "cocoon/util.h"
#include "health-client.h"

#define DEFAULT_PORT 9999
#define DEFAULT_CID 4
#define REPLY_MAX (100u << 20)
#define REQUEST_MAX 4096

static void usage(FILE *f)
{
	fprintf(f, "Usage: health-client [OPTIONS] COMMAND [ARGS]\n"
	           "\n"
	           "Asks the health-monitor of a confidential VM. Commands: status [svc], sys,\n"
	           "svc <svc>, logs <svc> [n], tdx, eventlog, gpu, containers, all, and\n"
	           "  attest [--nonce HEX] [--out DIR]\n"
	           "      a fresh quote binding NONCE (16..32 bytes; default 32 random ones),\n"
	           "      the event log and RTMRs; checked for size and form, written to DIR as\n"
	           "      quote, eventlog, rtmrs, nonce for cocoon-verify cvm\n"
	           "\n"
	           "Options:\n"
	           "  -c, --cid CID          the VM's vsock CID (default 4)\n"
	           "  -p, --port PORT        vsock port (default 9999)\n"
	           "  -i, --instance KIND[:N]  worker, proxy or client: CID 6, 7 or 4, plus 10*N\n"
	           "  --connect ADDR         another address: vsock:CID:PORT, vport:NAME,\n"
	           "                         unix:PATH, tcp:HOST:PORT\n"
	           "  --json                 ask for the JSON form\n"
	           "  --timeout MS           connect and reply (default 30000)\n"
	           "  -q, --quiet            errors only;  -v, --verbose  debug messages\n"
	           "  -h, --help             this text;    -V, --version  print the version\n"
	           "\n"
	           "Exit status: 0 answered, 1 the monitor answered with an error, 2 usage error,\n"
	           "3 local error, 4 monitor unreachable or no reply.\n");
}

static int parse_u32(const char *s, unsigned long max, unsigned long *out)
{
	long v;

	if (cli_parse_long(s, 0, (long)max, &v) < 0)
		return -1;
	*out = (unsigned long)v;
	return 0;
}

/* worker|proxy|client[:N] -> 6|7|4 + 10*N */
static int parse_instance(const char *s, unsigned long *cid)
{
	static const struct {
		const char *name;
		unsigned long cid;
	} kinds[] = {{"worker", 6}, {"proxy", 7}, {"client", 4}};
	const char *colon = strchr(s, ':');
	size_t nl = colon ? (size_t)(colon - s) : strlen(s);
	unsigned long n = 0;

	if (colon && parse_u32(colon + 1, 100000000, &n) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strlen(kinds[i].name) == nl && !strncmp(s, kinds[i].name, nl)) {
			*cid = kinds[i].cid + 10 * n;
			return 0;
		}
	}
	return -1;
}

int hc_ask(const struct hc_conn *conn, const char *req, size_t max, uint8_t **reply, size_t *len,
           struct cerr *err)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = transport_connect(conn->addr, conn->timeout_ms, err);
	if (fd < 0)
		return fd;
	r = frame_write(fd, req, strlen(req), conn->timeout_ms, err);
	if (r == 0)
		r = frame_read(fd, max, conn->timeout_ms, reply, len, err);
	if (r < 0)
		return cerr_prefix(err, r, "health-monitor at %s", conn->addr);
	return 0;
}

static bool is_error_reply(const char *s)
{
	json_object *o, *e;
	bool yes;

	if (strncmp(s, "{\"error\"", 8))
		return false;
	o = json_tokener_parse(s);
	yes = o && json_object_is_type(o, json_type_object) &&
	      json_object_object_get_ex(o, "error", &e);
	json_object_put(o);
	return yes;
}

int main(int argc, char **argv)
{
	enum { OPT_CONNECT = 256, OPT_JSON, OPT_TIMEOUT, OPT_PRINT_ONLY };
	static const struct option opts[] = {
	    {"cid", required_argument, NULL, 'c'},
	    {"port", required_argument, NULL, 'p'},
	    {"instance", required_argument, NULL, 'i'},
	    {"connect", required_argument, NULL, OPT_CONNECT},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"print-only", no_argument, NULL, OPT_PRINT_ONLY},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct cerr err = CERR_INIT;
	unsigned long cid = DEFAULT_CID, port = DEFAULT_PORT, timeout = 30000;
	const char *connect_to = NULL;
	char addr[64];
	bool json = false, print_only = false;
	struct wbuf w;
	struct hc_conn conn;
	_cleanup_free_ uint8_t *reply = NULL;
	char *req;
	size_t rl = 0, qn = 0;
	int c, r;

	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "+c:p:i:qvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (parse_u32(optarg, 0xfffffffeUL, &cid) < 0 || cid < 3) {
				log_error("bad CID '%s': a number from 3 (guests start there)",
				          optarg);
				return EXIT_USAGE;
			}
			break;
		case 'p':
			if (parse_u32(optarg, 0xfffffffeUL, &port) < 0 || port == 0) {
				log_error("bad port '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'i':
			if (parse_instance(optarg, &cid) < 0 || cid > 0xfffffffeUL) {
				log_error(
				    "bad instance '%s': worker, proxy or client, optionally :N",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_CONNECT:
			connect_to = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_PRINT_ONLY:
			print_only = true;
			break;
		case OPT_TIMEOUT:
			if (parse_u32(optarg, 3600000, &timeout) < 0 || timeout == 0) {
				log_error("bad --timeout '%s': milliseconds, 1..3600000", optarg);
				return EXIT_USAGE;
			}
			break;
		default: {
			int done = cli_common_option(c, "health-client", usage);

			if (done != CLI_CONTINUE)
				return done;
			break;
		}
		}
	}
	if (optind >= argc) {
		log_error(
		    "no command: status, sys, svc, logs, tdx, eventlog, gpu, containers, all, "
		    "attest");
		return EXIT_USAGE;
	}
	if (!connect_to) {
		snprintf(addr, sizeof(addr), "vsock:%lu:%lu", cid, port);
		connect_to = addr;
	}
	conn.addr = connect_to;
	conn.timeout_ms = (int)timeout;
	conn.print_only = print_only;
	if (!strcmp(argv[optind], "attest"))
		return attest_main(argc - optind, argv + optind, &conn, json);
	wbuf_init(&w, REQUEST_MAX);
	if (json)
		wbuf_printf(&w, "json ");
	for (int i = optind; i < argc; i++)
		wbuf_printf(&w, "%s%s", i > optind ? " " : "", argv[i]);
	wbuf_u8(&w, 0);
	if (wbuf_status(&w) < 0) {
		wbuf_free(&w);
		log_error("request longer than %d bytes", REQUEST_MAX);
		return EXIT_USAGE;
	}
	req = (char *)wbuf_steal(&w, &qn);
	if (print_only) {
		printf("%s %s\n", connect_to, req);
		free(req);
		return 0;
	}
	r = hc_ask(&conn, req, REPLY_MAX, &reply, &rl, &err);
	free(req);
	if (r < 0) {
		log_cerr(&err);
		return EXIT_UNREACHABLE;
	}
	for (size_t i = 0; i < rl; i++)
		if ((reply[i] < 0x20 && reply[i] != '\n' && reply[i] != '\t') || reply[i] == 0x7f)
			reply[i] = '?';
	fwrite(reply, 1, rl, stdout);
	if (rl && reply[rl - 1] != '\n')
		putchar('\n');
	if (fflush(stdout) != 0)
		return EXIT_SYSTEM;
	return is_error_reply((const char *)reply) ? EXIT_ANSWER_ERROR : 0;
}
