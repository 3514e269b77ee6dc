/* attest.c - health-client attest: fetch a CVM's evidence for a nonce.
 *
 *   health-client [CONNECTION] attest [--nonce HEX] [--out DIR]
 *
 * Sends `json attest NONCE` and checks the reply as what it is, the word of
 * an untrusted guest relayed by an untrusted host: a bounded JSON object
 * whose nonce is ours, whose quote is 1..TEE_QUOTE_MAX bytes of hex, whose
 * event log is at most EVLOG_FILE_MAX bytes of lines that replay, and whose
 * four RTMRs are 48 bytes each. Nothing here trusts the contents: the owner's
 * verdict is cocoon-verify cvm's, on the files written to DIR:
 *
 *   DIR/quote     the quote, binary (TDX: DCAP quote; sim: sim TD quote)
 *   DIR/eventlog  the event log, byte for byte
 *   DIR/rtmrs     RTMR0..3 as the guest read them, one hex line each
 *   DIR/nonce     the nonce, one hex line
 *
 * Without --nonce, 32 random bytes; an owner who wants freshness picks the
 * nonce itself and gives the same one to cocoon-verify cvm.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "cocoon/cli.h"
#include "cocoon/crypto.h"
#include "cocoon/evlog.h"
#include "cocoon/log.h"
#include "cocoon/tee.h"
#include "cocoon/util.h"
#include "health-client.h"

/* quote hex (128 KiB) + an event log whose every byte is escaped (6 MiB) */
#define ATTEST_REPLY_MAX (8u << 20)

struct evidence {
	char backend[8];
	uint8_t *quote;
	size_t quote_len;
	const char *event_log; /* points into the parsed reply */
	size_t event_log_len;
	size_t events;
	uint8_t rtmr[TEE_RTMR_COUNT][TEE_RTMR_LEN];
	bool consistent;
};

static const char *str_field(json_object *o, const char *key, size_t max, size_t *len,
                             struct cerr *err)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) {
		cerr_setx(err, EBADMSG, "the reply has no string '%s'", key);
		return NULL;
	}
	*len = (size_t)json_object_get_string_len(v);
	if (*len > max) {
		cerr_setx(err, EBADMSG, "the reply's '%s' is %zu bytes, more than %zu", key, *len,
		          max);
		return NULL;
	}
	return json_object_get_string(v);
}

static int hex_field(json_object *o, const char *key, uint8_t *out, size_t n, struct cerr *err)
{
	size_t len = 0;
	const char *s = str_field(o, key, 2 * n, &len, err);

	if (!s)
		return -EBADMSG;
	if (len != 2 * n || hex_decode(s, out, n) < 0)
		return cerr_setx(err, EBADMSG, "the reply's '%s' is not %zu bytes of hex", key, n);
	return 0;
}

static int check_reply(json_object *o, const uint8_t *nonce, size_t nonce_len, struct evidence *ev,
                       struct cerr *err)
{
	uint8_t got_nonce[TEE_ATTEST_NONCE_MAX], rd[TDREPORT_DATA_LEN], want_rd[TDREPORT_DATA_LEN];
	uint8_t replay[RTMR_LEN];
	const char *s;
	json_object *v;
	size_t len = 0;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return cerr_setx(err, EBADMSG, "the reply is not a JSON object");
	if (!(s = str_field(o, "backend", 3, &len, err)))
		return -EBADMSG;
	if (strcmp(s, "tdx") && strcmp(s, "sim"))
		return cerr_setx(err, EBADMSG, "the reply's backend '%s' is neither tdx nor sim",
		                 s);
	snprintf(ev->backend, sizeof(ev->backend), "%s", s);
	if ((r = hex_field(o, "nonce", got_nonce, nonce_len, err)) < 0)
		return r;
	if (memcmp(got_nonce, nonce, nonce_len))
		return cerr_setx(err, EBADMSG, "the reply is for another nonce than ours");
	if ((r = hex_field(o, "report_data", rd, sizeof(rd), err)) < 0 ||
	    (r = tee_attest_report_data(nonce, nonce_len, want_rd, err)) < 0)
		return r;
	if (memcmp(rd, want_rd, sizeof(rd)))
		return cerr_setx(err, EBADMSG, "the reply's report_data does not bind our nonce");
	if (!(s = str_field(o, "quote", 2 * TEE_QUOTE_MAX, &len, err)))
		return -EBADMSG;
	if (len == 0 || len % 2)
		return cerr_setx(err, EBADMSG, "the reply's quote is not 1..%u bytes of hex",
		                 TEE_QUOTE_MAX);
	ev->quote_len = len / 2;
	ev->quote = malloc(ev->quote_len);
	if (!ev->quote)
		return cerr_set(err, ENOMEM, "quote");
	if (hex_decode(s, ev->quote, ev->quote_len) < 0)
		return cerr_setx(err, EBADMSG, "the reply's quote is not hex");
	if (!json_object_object_get_ex(o, "rtmr", &v) || !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) != TEE_RTMR_COUNT)
		return cerr_setx(err, EBADMSG, "the reply's rtmr is not a list of 4");
	for (int i = 0; i < TEE_RTMR_COUNT; i++) {
		json_object *e = json_object_array_get_idx(v, (size_t)i);
		const char *h =
		    json_object_is_type(e, json_type_string) ? json_object_get_string(e) : "";

		if (strlen(h) != 2 * TEE_RTMR_LEN || hex_decode(h, ev->rtmr[i], TEE_RTMR_LEN) < 0)
			return cerr_setx(err, EBADMSG,
			                 "the reply's rtmr[%d] is not 48 bytes of hex", i);
	}
	if (!(ev->event_log = str_field(o, "event_log", EVLOG_FILE_MAX, &ev->event_log_len, err)))
		return -EBADMSG;
	if ((r = evlog_replay_buf(ev->event_log, ev->event_log_len, replay, &ev->events, err)) < 0)
		return cerr_prefix(err, r, "the reply's event log");
	ev->consistent = json_object_object_get_ex(o, "consistent", &v) &&
	                 json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
	return 0;
}

static int write_evidence(const char *dir, const struct evidence *ev, const uint8_t *nonce,
                          size_t nonce_len, struct cerr *err)
{
	char path[PATH_MAX], text[TEE_RTMR_COUNT * (2 * TEE_RTMR_LEN + 1) + 1];
	char hex[2 * TEE_ATTEST_NONCE_MAX + 2];
	int r;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return cerr_set(err, errno, "mkdir '%s'", dir);
	for (int i = 0; i < TEE_RTMR_COUNT; i++) {
		hex_encode(ev->rtmr[i], TEE_RTMR_LEN, text + i * (2 * TEE_RTMR_LEN + 1));
		text[(i + 1) * (2 * TEE_RTMR_LEN + 1) - 1] = '\n';
	}
	hex_encode(nonce, nonce_len, hex);
	strcat(hex, "\n");
	struct {
		const char *name;
		const void *p;
		size_t n;
	} files[] = {
	    {"quote", ev->quote, ev->quote_len},
	    {"eventlog", ev->event_log, ev->event_log_len},
	    {"rtmrs", text, TEE_RTMR_COUNT * (2 * TEE_RTMR_LEN + 1)},
	    {"nonce", hex, strlen(hex)},
	};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, files[i].name) >= (int)sizeof(path))
			return cerr_setx(err, ENAMETOOLONG, "--out '%s' is too long", dir);
		if ((r = write_file_atomic(path, files[i].p, files[i].n, 0644, err)) < 0)
			return r;
	}
	return 0;
}

int attest_main(int argc, char **argv, const struct hc_conn *conn, bool json)
{
	static const struct option opts[] = {
	    {"nonce", required_argument, NULL, 'n'},
	    {"out", required_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0},
	};
	uint8_t nonce[TEE_ATTEST_NONCE_MAX];
	size_t nonce_len = 32;
	const char *out = NULL, *nonce_hex = NULL;
	char req[64 + 2 * TEE_ATTEST_NONCE_MAX], hex[2 * TEE_ATTEST_NONCE_MAX + 1];
	struct evidence ev = {0};
	struct cerr err = CERR_INIT;
	_cleanup_free_ uint8_t *reply = NULL;
	json_tokener *tok;
	json_object *o;
	size_t rl = 0;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			nonce_hex = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			log_error("attest takes --nonce HEX and --out DIR");
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		log_error("attest: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (nonce_hex) {
		if (tee_attest_nonce_parse(nonce_hex, nonce, &nonce_len, &err) < 0) {
			log_error("--nonce: %s", err.msg);
			return EXIT_USAGE;
		}
	} else if (crypto_random(nonce, nonce_len, &err) < 0) {
		log_cerr(&err);
		return EXIT_SYSTEM;
	}
	hex_encode(nonce, nonce_len, hex);
	snprintf(req, sizeof(req), "json attest %s", hex);
	if (conn->print_only) {
		printf("%s %s\n", conn->addr, req);
		return 0;
	}
	r = hc_ask(conn, req, ATTEST_REPLY_MAX, &reply, &rl, &err);
	if (r < 0) {
		log_cerr(&err);
		return EXIT_UNREACHABLE;
	}
	tok = json_tokener_new_ex(64);
	o = tok ? json_tokener_parse_ex(tok, (const char *)reply, (int)rl) : NULL;
	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		json_tokener_free(tok);
		log_error("the attest reply is not one JSON object");
		return EXIT_ANSWER_ERROR;
	}
	json_tokener_free(tok);
	if (json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "error", NULL)) {
		json_object *e = json_object_object_get(o, "error");

		log_error("health-monitor: %s", json_object_get_string(e));
		json_object_put(o);
		return EXIT_ANSWER_ERROR;
	}
	r = check_reply(o, nonce, nonce_len, &ev, &err);
	if (r == 0 && out)
		r = write_evidence(out, &ev, nonce, nonce_len, &err);
	if (r < 0) {
		log_cerr(&err);
		free(ev.quote);
		json_object_put(o);
		return r == -EBADMSG ? EXIT_ANSWER_ERROR : EXIT_SYSTEM;
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(
		                   o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		printf("backend: %s%s\nnonce: %s\nquote: %zu bytes\nevent log: %zu events\n",
		       ev.backend, !strcmp(ev.backend, "sim") ? " (protects nothing)" : "", hex,
		       ev.quote_len, ev.events);
		for (int i = 0; i < TEE_RTMR_COUNT; i++) {
			char h[2 * TEE_RTMR_LEN + 1];

			hex_encode(ev.rtmr[i], TEE_RTMR_LEN, h);
			printf("rtmr%d: %s\n", i, h);
		}
		if (!ev.consistent)
			printf(
			    "note: the guest saw its event log or RTMRs change around the quote\n");
		if (out)
			printf(
			    "evidence written to %s (quote, eventlog, rtmrs, nonce): check it with "
			    "cocoon-verify cvm\n",
			    out);
	}
	free(ev.quote);
	json_object_put(o);
	return fflush(stdout) == 0 ? 0 : EXIT_SYSTEM;
}
