/* cvm.c - `cocoon-verify cvm`: the owner's check of one running CVM.
 *
 * Input: the evidence health-client attest wrote (DIR/quote, DIR/eventlog,
 * DIR/nonce) and the owner's own inputs (the nonce they chose, the spec
 * directory, the accepted TCB statuses, the expected MRTD and RTMR0..2).
 * Output: one line per claim, each PASS or FAIL with what was compared:
 *
 *   quote     the quote is genuine: a DCAP TDX quote verified against its
 *             collateral at TIME (lib/dcap.c), not a debug TD
 *   tcb       its TCB status is one the owner accepts
 *   nonce     its report data is tee_attest_report_data(nonce)
 *   eventlog  the event log replays to the quote's RTMR3
 *   spec      the log's first event is cocoon:spec.tree=H, the only one, and
 *             H is the spec hash of the owner's directory (lib/spechash.c)
 *   image     MRTD and RTMR0..2 are one of the owner's allowed sets
 *   gpu       cocoon:gpu=cc-ready is in the log when the spec asks for a GPU
 *
 * A sim TD quote (lib/tee.h) is accepted only with --allow-sim, is checked
 * for its structure (and its MACs with --sim-key), and every line then says
 * sim: such evidence proves nothing. Everything in DIR came through the host
 * from the guest: it is read with bounds and parsed through the bounds-checked
 * readers; none of it is trusted before the quote is.
 *
 * Exit: 0 every claim passes, 1 one fails, 2 usage, 3 system error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cocoon/cli.h"
#include "cocoon/compose.h"
#include "cocoon/dcap.h"
#include "cocoon/evlog.h"
#include "cocoon/spechash.h"
#include "cocoon/tee.h"
#include "cocoon/util.h"
#include "verify.h"

#define ALLOWLIST_MAX (1u << 20)
#define ALLOWLIST_ENTRIES_MAX 1024
#define ACCEPT_MAX 8
#define SPEC_EVENT "cocoon:spec.tree="
#define GPU_EVENT "cocoon:gpu=cc-ready"

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: cocoon-verify cvm --evidence DIR --spec DIR [OPTIONS]\n"
	        "\n"
	        "The owner's check of one running CVM from the evidence `health-client attest\n"
	        "--out DIR` wrote (quote, eventlog, nonce). One line per claim, PASS or FAIL:\n"
	        "quote (genuine, not a debug TD), tcb (status accepted), nonce (report data\n"
	        "binds it), eventlog (replays to RTMR3), spec (the spec hash event equals\n"
	        "`cocoon-spec hash` of --spec), image (MRTD and RTMR0..2 allowed), gpu (the GPU\n"
	        "evidence event, when the spec asks for a GPU).\n"
	        "\n"
	        "Options:\n"
	        "  --evidence DIR      quote, eventlog and nonce from health-client attest\n"
	        "  --spec DIR          the owner's spec directory\n"
	        "  --nonce HEX         the nonce the owner chose (default: DIR/nonce, which is\n"
	        "                      only as fresh as whoever wrote it)\n"
	        "  --collateral FILE   the quote's collateral (PCCS v4 JSON shape), or\n"
	        "  --pccs URL          fetch it from a PCCS (--cache DIR to keep it)\n"
	        "  --now TIME          verify at TIME: RFC 3339 or Unix seconds (default: now)\n"
	        "  --accept LIST       TCB statuses accepted, comma-separated (default UpToDate)\n"
	        "  --allowlist FILE    allowed image measurements (docs/attestation-cvm.md):\n"
	        "                      {\"allow\": [{\"name\", \"mrtd\", \"rtmr0\", \"rtmr1\",\n"
	        "                      \"rtmr2\"}, ...]} or one such object\n"
	        "  --mrtd HEX --rtmr0 HEX --rtmr1 HEX --rtmr2 HEX\n"
	        "                      one allowed set on the command line (all four)\n"
	        "  --allow-sim         accept sim evidence (development only; every line then\n"
	        "                      says sim)\n"
	        "  --sim-key FILE      with --allow-sim: also check the sim quote's MACs\n"
	        "  --json              one JSON object: ok, sim, claims [{claim, ok, detail}]\n"
	        "  -h, --help          this text\n"
	        "\n"
	        "Exit status: 0 every claim passes, 1 a claim fails, 2 usage error,\n"
	        "3 system error.\n");
}

struct mset {
	char name[128];
	uint8_t mr[4][SHA384_LEN]; /* MRTD, RTMR0, RTMR1, RTMR2 */
};

struct opts {
	const char *evidence, *spec, *nonce_hex, *collateral, *pccs, *cache, *allowlist;
	const char *sim_key;
	const char *mr_hex[4];
	char accept[ACCEPT_MAX][40];
	size_t n_accept;
	time_t now;
	bool allow_sim, json;
};

/* What the claims are judged on, from either kind of quote. */
struct facts {
	bool sim, quote_ok;
	uint8_t mrtd[SHA384_LEN], rtmr[4][SHA384_LEN], report_data[64];
	bool have_body;
	struct dcap_result res;
	char *log;
	size_t log_len;
	bool log_ok; /* read, and replays to the quote's RTMR3 */
};

struct report {
	bool json, sim;
	int failed, total;
	json_object *claims;
};

static void claim(struct report *rep, const char *name, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void claim(struct report *rep, const char *name, bool ok, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	/* details quote bytes from the evidence: nothing but printable ASCII */
	for (char *p = detail; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	rep->total++;
	if (!ok)
		rep->failed++;
	if (rep->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "claim", json_object_new_string(name));
		json_object_object_add(o, "ok", json_object_new_boolean(ok));
		json_object_object_add(o, "sim", json_object_new_boolean(rep->sim));
		json_object_object_add(o, "detail", json_object_new_string(detail));
		json_object_array_add(rep->claims, o);
	} else {
		printf("%s%s %-8s %s\n", ok ? "PASS" : "FAIL", rep->sim ? " sim" : "", name,
		       detail);
	}
}

static int parse_accept(const char *list, struct opts *o)
{
	const char *p = list;

	o->n_accept = 0;
	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == 0 || n >= sizeof(o->accept[0]) || o->n_accept == ACCEPT_MAX)
			return -1;
		memcpy(o->accept[o->n_accept], p, n);
		o->accept[o->n_accept++][n] = '\0';
		p += n;
		if (*p == ',')
			p++;
	}
	return o->n_accept ? 0 : -1;
}

static int read_evidence(const char *dir, const char *name, size_t max, char **out, size_t *len,
                         struct cerr *err)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return cerr_setx(err, ENAMETOOLONG, "--evidence '%s' is too long", dir);
	return read_file(path, max, out, len, err);
}

/* ---- the quote ---- */

static void check_quote(const struct opts *o, const uint8_t *q, size_t qlen, struct facts *f,
                        struct report *rep)
{
	struct cerr err = CERR_INIT;

	f->sim = tee_is_sim_td_quote(q, qlen);
	rep->sim = f->sim;
	if (f->sim) {
		struct tdreport td;
		uint8_t key[TEE_SIM_PLATFORM_KEY_LEN];
		int r;

		if (o->sim_key) {
			struct tee t;

			tee_init(&t, TEE_SIM);
			r = tee_sim_load_key(&t, o->sim_key, &err);
			memcpy(key, t.sim_platform_key, sizeof(key));
			tee_done(&t);
			if (r == 0)
				r = tee_sim_td_quote_verify(key, q, qlen, &td, &err);
			secure_wipe(key, sizeof(key));
		} else {
			r = tee_sim_td_quote_parse(q, qlen, &td, &err);
		}
		if (r == 0) {
			f->have_body = true;
			memcpy(f->mrtd, td.mrtd, SHA384_LEN);
			memcpy(f->rtmr, td.rtmr, sizeof(f->rtmr));
			memcpy(f->report_data, td.reportdata, 64);
		}
		if (r < 0)
			claim(rep, "quote", false, "not a well-formed sim TD quote: %s", err.msg);
		else if (!o->allow_sim)
			claim(rep, "quote", false,
			      "a sim TD quote (development, protects nothing): refused without "
			      "--allow-sim");
		else
			claim(rep, "quote", (f->quote_ok = true),
			      "sim TD quote, %s; proves nothing (the host holds the sim key)",
			      o->sim_key ? "structure and MACs under --sim-key check"
			                 : "structure checks (MACs not checked: no --sim-key)");
		if (o->allow_sim || r < 0)
			claim(rep, "tcb", o->allow_sim && r == 0, "sim TEE: no TCB to judge%s",
			      o->allow_sim ? ", accepted by --allow-sim" : "");
		else
			claim(rep, "tcb", false, "sim TEE: refused without --allow-sim");
		return;
	}

	struct dcap_quote dq;
	struct dcap_collateral col;
	int r = dcap_quote_parse(q, qlen, &dq, &err);

	if (r == 0 && (dq.hdr.tee_type != DCAP_TEE_TDX || dq.body_type == DCAP_BODY_SGX))
		r = cerr_setx(&err, EBADMSG, "an SGX quote, not a TD's");
	if (r < 0) {
		claim(rep, "quote", false, "%s", err.msg);
		claim(rep, "tcb", false, "no TCB status: the quote did not parse");
		return;
	}
	f->have_body = true;
	memcpy(f->mrtd, dq.td.mr_td, SHA384_LEN);
	memcpy(f->rtmr, dq.td.rtmr, sizeof(f->rtmr));
	memcpy(f->report_data, dq.td.report_data, 64);
	if (!o->collateral && !o->pccs) {
		claim(rep, "quote", false,
		      "TDX quote v%u: no --collateral or --pccs to verify it with", dq.hdr.version);
		claim(rep, "tcb", false, "no TCB status without collateral");
		return;
	}
	r = o->collateral ? dcap_collateral_load(o->collateral, &col, &err)
	                  : dcap_collateral_fetch(o->pccs, o->cache, &dq, o->now, &col, &err);
	if (r == 0) {
		r = dcap_verify(&dq, &col, o->now, &f->res, &err);
		dcap_collateral_free(&col);
	}
	if (r < 0) {
		claim(rep, "quote", false, "%s", err.msg);
		claim(rep, "tcb", false, "no TCB status: the quote did not verify");
		return;
	}
	if (dq.td.td_attributes[0] & DCAP_TD_ATTR_DEBUG) {
		claim(rep, "quote", false,
		      "genuine TDX quote v%u, but of a DEBUG TD (the host can read its memory)",
		      dq.hdr.version);
	} else {
		claim(rep, "quote", (f->quote_ok = true),
		      "genuine TDX quote v%u (%s), signed by the Intel PCK chain%s", dq.hdr.version,
		      dq.body_type == DCAP_BODY_TD15 ? "TD 1.5" : "TD 1.0",
		      dcap_root_is_test() ? " of the TEST ROOT, not Intel" : "");
	}

	bool accepted = false;
	char adv[256] = "";

	for (size_t i = 0; i < o->n_accept; i++)
		accepted |= !strcmp(o->accept[i], f->res.status);
	accepted &= dcap_status_ok(f->res.status);
	for (size_t i = 0; i < f->res.n_advisory_ids; i++) {
		size_t n = strlen(adv);
		snprintf(adv + n, sizeof(adv) - n, "%s%s", i ? "," : ", advisories ",
		         f->res.advisory_ids[i]);
	}
	claim(rep, "tcb", accepted && f->quote_ok, "%s%s (accepted: %s%s)", f->res.status, adv,
	      o->accept[0], o->n_accept > 1 ? ", ..." : "");
}

/* ---- nonce ---- */

static void check_nonce(const struct opts *o, const struct facts *f, struct report *rep)
{
	_cleanup_free_ char *file = NULL;
	uint8_t nonce[TEE_ATTEST_NONCE_MAX], want[64];
	struct cerr err = CERR_INIT;
	const char *hex = o->nonce_hex, *from = "--nonce";
	size_t n = 0, len = 0;

	if (!hex) {
		if (read_evidence(o->evidence, "nonce", 256, &file, &len, &err) < 0) {
			claim(rep, "nonce", false, "no --nonce and no nonce file: %s", err.msg);
			return;
		}
		if (len && file[len - 1] == '\n')
			file[--len] = '\0';
		hex = file;
		from = "the evidence's nonce file (fresh only if you chose it)";
	}
	if (tee_attest_nonce_parse(hex, nonce, &n, &err) < 0) {
		claim(rep, "nonce", false, "the nonce from %s: %s", from, err.msg);
		return;
	}
	if (!f->have_body || tee_attest_report_data(nonce, n, want, &err) < 0) {
		claim(rep, "nonce", false, "no report data to compare (the quote did not parse)");
		return;
	}
	if (memcmp(want, f->report_data, 64))
		claim(rep, "nonce", false,
		      "report data is not SHA-512(\"" TEE_ATTEST_DOMAIN "\" 0 nonce) for the nonce "
		      "from %s: a replayed or foreign quote",
		      from);
	else
		claim(rep, "nonce", true,
		      "report data = SHA-512(\"" TEE_ATTEST_DOMAIN "\" 0 nonce), nonce from %s",
		      from);
}

/* ---- event log and its events ---- */

static void check_eventlog(const struct opts *o, struct facts *f, struct report *rep)
{
	struct cerr err = CERR_INIT;
	uint8_t replay[RTMR_LEN];
	size_t count = 0;
	char hex[2 * RTMR_LEN + 1];

	if (read_evidence(o->evidence, "eventlog", EVLOG_FILE_MAX, &f->log, &f->log_len, &err) <
	    0) {
		claim(rep, "eventlog", false, "%s", err.msg);
		return;
	}
	if (evlog_replay_buf(f->log, f->log_len, replay, &count, &err) < 0) {
		claim(rep, "eventlog", false, "the event log does not parse: %s", err.msg);
		return;
	}
	hex_encode(replay, RTMR_LEN, hex);
	if (!f->have_body) {
		claim(rep, "eventlog", false, "%zu events replay to %.16s...; no quote to compare",
		      count, hex);
		return;
	}
	f->log_ok = !memcmp(replay, f->rtmr[3], RTMR_LEN);
	claim(rep, "eventlog", f->log_ok, "%zu events replay to %.16s...%s the quote's RTMR3",
	      count, hex, f->log_ok ? ", equal to" : ", NOT");
}

/* Each event of the log in order; stops when fn returns false. */
static void each_event(const struct facts *f, bool (*fn)(void *, const char *, size_t, size_t),
                       void *ctx)
{
	size_t n = 0;

	for (const char *p = f->log, *end = f->log + f->log_len; p < end; n++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl || !fn(ctx, p, (size_t)(nl - p), n))
			return;
		p = nl + 1;
	}
}

struct spec_scan {
	size_t count, first_at;
	char hash[SPEC_HASH_HEX_LEN + 1];
	bool bad;
};

static bool on_spec_event(void *ctx, const char *line, size_t len, size_t idx)
{
	struct spec_scan *s = ctx;
	size_t pl = strlen(SPEC_EVENT);

	if (len < pl || memcmp(line, SPEC_EVENT, pl))
		return true;
	if (s->count++ == 0) {
		s->first_at = idx;
		if (len - pl != SPEC_HASH_HEX_LEN)
			s->bad = true;
		else
			memcpy(s->hash, line + pl, SPEC_HASH_HEX_LEN);
	}
	return true;
}

static void check_spec(const struct opts *o, const struct facts *f, struct report *rep)
{
	struct spec_scan s = {0};
	char hex[SPEC_HASH_HEX_LEN + 1];
	struct cerr err = CERR_INIT;

	if (spec_hash_dir(o->spec, hex, NULL, NULL, &err) < 0) {
		claim(rep, "spec", false, "cocoon-spec hash of '%s' refused: %s", o->spec, err.msg);
		return;
	}
	if (!f->log_ok) {
		claim(
		    rep, "spec", false,
		    "the event log does not replay to the quote's RTMR3: its events prove nothing");
		return;
	}
	each_event(f, on_spec_event, &s);
	if (s.count == 0)
		claim(rep, "spec", false, "no " SPEC_EVENT " event in the log");
	else if (s.bad)
		claim(rep, "spec", false, "the log's spec event does not hold a 64-hex spec hash");
	else if (s.count > 1 || s.first_at != 0)
		claim(rep, "spec", false,
		      "the log has %zu spec events, the first at position %zu: expected exactly "
		      "one, first",
		      s.count, s.first_at + 1);
	else if (strcmp(s.hash, hex))
		claim(rep, "spec", false, "the CVM runs spec %s, the owner's '%s' hashes to %s",
		      s.hash, o->spec, hex);
	else
		claim(rep, "spec", true, "the CVM runs spec %s = cocoon-spec hash of '%s'", hex,
		      o->spec);
}

struct gpu_scan {
	bool found;
};

static bool on_gpu_event(void *ctx, const char *line, size_t len, size_t idx)
{
	struct gpu_scan *g = ctx;

	if (len == strlen(GPU_EVENT) && !memcmp(line, GPU_EVENT, len)) {
		g->found = true;
		return false;
	}
	return true;
}

static void check_gpu(const struct opts *o, const struct facts *f, struct report *rep)
{
	struct compose_opts copts = {.spec_dirfd = -1};
	struct compose_spec cs;
	struct gpu_scan g = {false};
	struct cerr err = CERR_INIT;
	char path[PATH_MAX];
	bool wants;

	snprintf(path, sizeof(path), "%s/docker-compose.yml", o->spec);
	if (access(path, F_OK) < 0) {
		wants = false;
	} else {
		memset(&cs, 0, sizeof(cs));
		if (compose_load_dir(o->spec, &copts, &cs, &err) < 0) {
			claim(rep, "gpu", false, "the spec's docker-compose.yml is refused: %s",
			      err.msg);
			return;
		}
		wants = cs.gpu;
		compose_spec_free(&cs);
	}
	if (f->log_ok)
		each_event(f, on_gpu_event, &g);
	if (!wants)
		claim(rep, "gpu", true, "the spec asks for no GPU%s",
		      g.found ? " (the log has a GPU event anyway)" : "");
	else if (!f->log_ok)
		claim(rep, "gpu", false, "the spec asks for a GPU; the event log proves nothing");
	else
		claim(rep, "gpu", g.found, "the spec asks for a GPU: " GPU_EVENT " %s",
		      g.found ? "is in the log" : "is NOT in the log");
}

/* ---- image measurements ---- */

static const char *const mr_names[4] = {"mrtd", "rtmr0", "rtmr1", "rtmr2"};

static int mset_from_json(json_object *e, size_t idx, struct mset *m, struct cerr *err)
{
	json_object *v;

	memset(m, 0, sizeof(*m));
	if (!json_object_is_type(e, json_type_object))
		return cerr_setx(err, EINVAL, "entry %zu is not an object", idx);
	if (json_object_object_get_ex(e, "name", &v) && json_object_is_type(v, json_type_string))
		snprintf(m->name, sizeof(m->name), "%s", json_object_get_string(v));
	else
		snprintf(m->name, sizeof(m->name), "entry %zu", idx);
	for (int i = 0; i < 4; i++) {
		const char *s;

		if (!json_object_object_get_ex(e, mr_names[i], &v) ||
		    !json_object_is_type(v, json_type_string))
			return cerr_setx(err, EINVAL,
			                 "entry %zu has no \"%s\" (each entry needs "
			                 "mrtd, rtmr0, rtmr1 and rtmr2)",
			                 idx, mr_names[i]);
		s = json_object_get_string(v);
		if (strlen(s) != 2 * SHA384_LEN || hex_decode(s, m->mr[i], SHA384_LEN) < 0)
			return cerr_setx(err, EINVAL, "entry %zu: \"%s\" is not 48 bytes of hex",
			                 idx, mr_names[i]);
	}
	return 0;
}

static int load_allowlist(const char *path, struct mset **out, size_t *n, struct cerr *err)
{
	_cleanup_free_ char *data = NULL;
	json_object *root, *arr = NULL;
	size_t len = 0;
	int r;

	if ((r = read_file(path, ALLOWLIST_MAX, &data, &len, err)) < 0)
		return r;
	root = json_tokener_parse(data);
	if (!root || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return cerr_setx(err, EINVAL, "'%s' is not a JSON object", path);
	}
	if (json_object_object_get_ex(root, "allow", &arr) &&
	    !json_object_is_type(arr, json_type_array)) {
		json_object_put(root);
		return cerr_setx(err, EINVAL, "'%s': \"allow\" is not a list", path);
	}
	*n = arr ? json_object_array_length(arr) : 1;
	if (*n == 0 || *n > ALLOWLIST_ENTRIES_MAX) {
		json_object_put(root);
		return cerr_setx(err, EINVAL, "'%s': 1 to %d entries, not %zu", path,
		                 ALLOWLIST_ENTRIES_MAX, *n);
	}
	*out = calloc(*n, sizeof(**out));
	if (!*out) {
		json_object_put(root);
		return cerr_set(err, ENOMEM, "allowlist");
	}
	for (size_t i = 0; i < *n && r == 0; i++)
		r = mset_from_json(arr ? json_object_array_get_idx(arr, i) : root, i, &(*out)[i],
		                   err);
	json_object_put(root);
	if (r < 0) {
		free(*out);
		*out = NULL;
		return cerr_prefix(err, r, "allowlist '%s'", path);
	}
	return 0;
}

static void check_image(const struct opts *o, const struct facts *f, struct report *rep)
{
	_cleanup_free_ struct mset *sets = NULL;
	struct mset one;
	struct cerr err = CERR_INIT;
	size_t n = 0;
	const char *source;

	if (o->allowlist) {
		if (load_allowlist(o->allowlist, &sets, &n, &err) < 0) {
			claim(rep, "image", false, "%s", err.msg);
			return;
		}
		source = o->allowlist;
	} else if (o->mr_hex[0]) {
		memset(&one, 0, sizeof(one));
		snprintf(one.name, sizeof(one.name), "the command line");
		for (int i = 0; i < 4; i++)
			hex_decode(o->mr_hex[i], one.mr[i], SHA384_LEN); /* checked in main */
		sets = malloc(sizeof(one));
		if (!sets) {
			claim(rep, "image", false, "out of memory");
			return;
		}
		memcpy(sets, &one, sizeof(one));
		n = 1;
		source = "--mrtd/--rtmr0..2";
	} else {
		claim(rep, "image", false,
		      "no expected measurements: give --allowlist FILE or --mrtd and --rtmr0..2");
		return;
	}
	if (!f->have_body) {
		claim(rep, "image", false, "no measurements to compare (the quote did not parse)");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!memcmp(sets[i].mr[0], f->mrtd, SHA384_LEN) &&
		    !memcmp(sets[i].mr[1], f->rtmr[0], SHA384_LEN) &&
		    !memcmp(sets[i].mr[2], f->rtmr[1], SHA384_LEN) &&
		    !memcmp(sets[i].mr[3], f->rtmr[2], SHA384_LEN)) {
			claim(rep, "image", true, "MRTD and RTMR0..2 are \"%s\" of %s",
			      sets[i].name, source);
			return;
		}
	}
	{
		char mrtd[2 * SHA384_LEN + 1];

		hex_encode(f->mrtd, SHA384_LEN, mrtd);
		claim(rep, "image", false,
		      "MRTD %.16s... with its RTMR0..2 is none of the %zu allowed sets of %s", mrtd,
		      n, source);
	}
}

int cocoon_verify_cvm(int argc, char **argv)
{
	enum {
		OPT_EVIDENCE = 256,
		OPT_SPEC,
		OPT_NONCE,
		OPT_COLLATERAL,
		OPT_PCCS,
		OPT_CACHE,
		OPT_NOW,
		OPT_ACCEPT,
		OPT_ALLOWLIST,
		OPT_MRTD,
		OPT_RTMR0,
		OPT_RTMR1,
		OPT_RTMR2,
		OPT_ALLOW_SIM,
		OPT_SIM_KEY,
		OPT_JSON,
	};
	static const struct option lopts[] = {
	    {"evidence", required_argument, NULL, OPT_EVIDENCE},
	    {"spec", required_argument, NULL, OPT_SPEC},
	    {"nonce", required_argument, NULL, OPT_NONCE},
	    {"collateral", required_argument, NULL, OPT_COLLATERAL},
	    {"pccs", required_argument, NULL, OPT_PCCS},
	    {"cache", required_argument, NULL, OPT_CACHE},
	    {"now", required_argument, NULL, OPT_NOW},
	    {"accept", required_argument, NULL, OPT_ACCEPT},
	    {"allowlist", required_argument, NULL, OPT_ALLOWLIST},
	    {"mrtd", required_argument, NULL, OPT_MRTD},
	    {"rtmr0", required_argument, NULL, OPT_RTMR0},
	    {"rtmr1", required_argument, NULL, OPT_RTMR1},
	    {"rtmr2", required_argument, NULL, OPT_RTMR2},
	    {"allow-sim", no_argument, NULL, OPT_ALLOW_SIM},
	    {"sim-key", required_argument, NULL, OPT_SIM_KEY},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct opts o = {.now = time(NULL)};
	struct facts f = {0};
	struct report rep = {0};
	struct cerr err = CERR_INIT;
	_cleanup_free_ char *quote = NULL;
	size_t qlen = 0, given = 0;
	int c;

	snprintf(o.accept[0], sizeof(o.accept[0]), "UpToDate");
	o.n_accept = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case OPT_EVIDENCE:
			o.evidence = optarg;
			break;
		case OPT_SPEC:
			o.spec = optarg;
			break;
		case OPT_NONCE:
			o.nonce_hex = optarg;
			break;
		case OPT_COLLATERAL:
			o.collateral = optarg;
			break;
		case OPT_PCCS:
			o.pccs = optarg;
			break;
		case OPT_CACHE:
			o.cache = optarg;
			break;
		case OPT_ALLOWLIST:
			o.allowlist = optarg;
			break;
		case OPT_MRTD:
		case OPT_RTMR0:
		case OPT_RTMR1:
		case OPT_RTMR2: {
			uint8_t tmp[SHA384_LEN];

			if (strlen(optarg) != 2 * SHA384_LEN ||
			    hex_decode(optarg, tmp, SHA384_LEN) < 0) {
				fprintf(stderr,
				        "cocoon-verify cvm: --%s: 48 bytes of hex (96 digits)\n",
				        mr_names[c - OPT_MRTD]);
				return VERIFY_EXIT_USAGE;
			}
			o.mr_hex[c - OPT_MRTD] = optarg;
			break;
		}
		case OPT_ALLOW_SIM:
			o.allow_sim = true;
			break;
		case OPT_SIM_KEY:
			o.sim_key = optarg;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_ACCEPT:
			if (parse_accept(optarg, &o) < 0) {
				fprintf(stderr,
				        "cocoon-verify cvm: --accept: 1 to %d status names, "
				        "comma-separated (UpToDate, SWHardeningNeeded, ...)\n",
				        ACCEPT_MAX);
				return VERIFY_EXIT_USAGE;
			}
			break;
		case OPT_NOW:
			if (verify_parse_now("cvm", optarg, &o.now) < 0)
				return VERIFY_EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return VERIFY_EXIT_USAGE;
		}
	}
	for (int i = 0; i < 4; i++)
		given += o.mr_hex[i] != NULL;
	if (optind != argc || !o.evidence || !o.spec || (o.collateral && o.pccs) ||
	    (o.cache && !o.pccs) || (given != 0 && given != 4) || (given && o.allowlist) ||
	    (o.sim_key && !o.allow_sim)) {
		fprintf(stderr,
		        "cocoon-verify cvm: want --evidence DIR and --spec DIR; at most one "
		        "of --collateral and --pccs (--cache only with --pccs); all four of "
		        "--mrtd, --rtmr0..2 or an --allowlist, not both; --sim-key only with "
		        "--allow-sim\n");
		usage(stderr);
		return VERIFY_EXIT_USAGE;
	}
	if (read_evidence(o.evidence, "quote", TEE_QUOTE_MAX, &quote, &qlen, &err) < 0) {
		fprintf(stderr, "cocoon-verify cvm: evidence: %s\n", err.msg);
		return err.code == ENOENT || err.code == EFBIG || err.code == EINVAL
		           ? VERIFY_EXIT_FAILED
		           : VERIFY_EXIT_SYSTEM;
	}
	rep.json = o.json;
	rep.claims = o.json ? json_object_new_array() : NULL;
	check_quote(&o, (const uint8_t *)quote, qlen, &f, &rep);
	check_nonce(&o, &f, &rep);
	check_eventlog(&o, &f, &rep);
	check_spec(&o, &f, &rep);
	check_image(&o, &f, &rep);
	check_gpu(&o, &f, &rep);
	free(f.log);
	if (o.json) {
		json_object *out = json_object_new_object();

		json_object_object_add(out, "ok", json_object_new_boolean(rep.failed == 0));
		json_object_object_add(out, "sim", json_object_new_boolean(rep.sim));
		json_object_object_add(out, "claims", rep.claims);
		cli_print_json(out);
	} else if (rep.failed) {
		printf("cvm: %d of %d claims FAIL\n", rep.failed, rep.total);
	} else {
		printf("cvm: all %d claims pass%s\n", rep.total,
		       rep.sim ? " (sim evidence: development only, it proves nothing)" : "");
	}
	return rep.failed ? VERIFY_EXIT_FAILED : VERIFY_EXIT_OK;
}
