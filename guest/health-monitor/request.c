/* request.c - the health request, which comes from the host and is untrusted.
 *
 * At most HEALTH_REQUEST_MAX bytes (the frame reader refuses more before
 * allocating), printable ASCII and spaces only (a NUL, a control character
 * or a byte over 0x7e is an error, not something to strip), at most
 * HEALTH_MAX_WORDS words of HEALTH_WORD_MAX bytes, a known command with the
 * right number of arguments, a service name from the allowlist, and a line
 * count that is a plain decimal in 1..1,000,000, a nonce of 16..32 bytes in
 * hex. Nothing here touches the
 * file system; nothing is ever passed to a shell.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cocoon/buf.h"
#include "health.h"

static const struct {
	const char *name;
	enum health_cmd cmd;
	int min_args, max_args;
} commands[] = {
    {"status", HCMD_STATUS, 0, 1}, {"sys", HCMD_SYS, 0, 0}, {"svc", HCMD_SVC, 1, 1},
    {"logs", HCMD_LOGS, 1, 2},     {"tdx", HCMD_TDX, 0, 0}, {"eventlog", HCMD_EVENTLOG, 0, 0},
    {"gpu", HCMD_GPU, 0, 0},       {"all", HCMD_ALL, 0, 0}, {"containers", HCMD_CONTAINERS, 0, 0},
    {"attest", HCMD_ATTEST, 1, 1},
};

const char *health_cmd_name(enum health_cmd cmd)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].cmd == cmd)
			return commands[i].name;
	return "?";
}

static bool svc_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-' || c == '@';
}

int health_services_parse(const char *list, struct health_services *out, struct cerr *err)
{
	const char *p = list;

	memset(out, 0, sizeof(*out));
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 0 || n > HEALTH_WORD_MAX)
			return cerr_setx(
			    err, EINVAL,
			    "bad service list '%s': names of 1..%d characters, separated "
			    "by commas",
			    list, HEALTH_WORD_MAX);
		for (size_t i = 0; i < n; i++)
			if (!svc_char_ok(p[i]))
				return cerr_setx(err, EINVAL,
				                 "bad service name in '%s': only [A-Za-z0-9_.@-]",
				                 list);
		if (out->n == HEALTH_MAX_SERVICES)
			return cerr_setx(err, EINVAL, "at most %d services", HEALTH_MAX_SERVICES);
		memcpy(out->name[out->n], p, n);
		out->name[out->n][n] = '\0';
		out->n++;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

bool health_services_has(const struct health_services *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], name))
			return true;
	return false;
}

static int parse_lines(const char *w, unsigned long *out, struct cerr *err)
{
	unsigned long v = 0;

	if (!*w || strlen(w) > 7)
		goto bad;
	for (const char *c = w; *c; c++) {
		if (*c < '0' || *c > '9')
			goto bad;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	if (v < 1 || v > HEALTH_LOGS_MAX)
		goto bad;
	*out = v;
	return 0;
bad:
	return cerr_setx(err, EINVAL, "bad line count '%s': a number from 1 to %d", w,
	                 HEALTH_LOGS_MAX);
}

int health_request_parse(const uint8_t *p, size_t n, const struct health_services *allow,
                         struct health_request *out, struct cerr *err)
{
	char words[HEALTH_MAX_WORDS + 1][HEALTH_WORD_MAX + 1];
	size_t nw = 0, wl = 0, first = 0;
	struct rbuf r;
	uint8_t c;
	int nargs;

	memset(out, 0, sizeof(*out));
	if (n > HEALTH_REQUEST_MAX)
		return cerr_setx(err, EINVAL, "request too large (%zu bytes, at most %d)", n,
		                 HEALTH_REQUEST_MAX);
	rbuf_init(&r, p, n);
	while (rbuf_u8(&r, &c) == 0) {
		if (c == ' ') {
			if (wl) {
				words[nw][wl] = '\0';
				nw++;
				wl = 0;
			}
			continue;
		}
		if (c < 0x21 || c > 0x7e)
			return cerr_setx(
			    err, EINVAL,
			    "request byte %zu is 0x%02x: only printable ASCII and spaces",
			    r.off - 1, c);
		if (wl == 0 && nw == HEALTH_MAX_WORDS + 1)
			return cerr_setx(err, EINVAL, "too many words in the request");
		if (wl == HEALTH_WORD_MAX)
			return cerr_setx(err, EINVAL, "a word of the request is over %d characters",
			                 HEALTH_WORD_MAX);
		words[nw][wl++] = (char)c;
	}
	if (wl) {
		words[nw][wl] = '\0';
		nw++;
	}
	if (nw && (!strcmp(words[0], "json") || !strcmp(words[0], "--json"))) {
		out->json = true;
		first = 1;
	}
	if (nw == first)
		return cerr_setx(
		    err, EINVAL,
		    "empty request: status [svc], sys, svc <svc>, logs <svc> [n], tdx, "
		    "eventlog, gpu, containers, all, attest <nonce>");
	nargs = (int)(nw - first - 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(words[first], commands[i].name))
			continue;
		if (nargs < commands[i].min_args || nargs > commands[i].max_args)
			return cerr_setx(err, EINVAL, "'%s' takes %d to %d arguments, not %d",
			                 commands[i].name, commands[i].min_args,
			                 commands[i].max_args, nargs);
		out->cmd = commands[i].cmd;
		out->lines = HEALTH_LOGS_DEFAULT;
		if (out->cmd == HCMD_ATTEST)
			return tee_attest_nonce_parse(words[first + 1], out->nonce, &out->nonce_len,
			                              err);
		if (nargs >= 1) {
			if (!health_services_has(allow, words[first + 1]))
				return cerr_setx(err, EINVAL, "unknown service '%s'",
				                 words[first + 1]);
			snprintf(out->svc, sizeof(out->svc), "%s", words[first + 1]);
		}
		if (nargs == 2)
			return parse_lines(words[first + 2], &out->lines, err);
		return 0;
	}
	return cerr_setx(err, EINVAL,
	                 "unknown command '%s': status [svc], sys, svc <svc>, logs <svc> [n], tdx, "
	                 "eventlog, gpu, containers, all, attest <nonce>",
	                 words[first]);
}
