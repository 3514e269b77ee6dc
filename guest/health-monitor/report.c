/* report.c - one json-c object per health command, and their text form.
 *
 * Every answer is built as a JSON object first; the text reply is a generic
 * rendering of the same object ("key: value" lines), so the two forms never
 * disagree. `logs` in text form is the log lines themselves.
 *
 * What the monitor reads: service states from systemctl (run without a
 * shell, time-limited), logs from <log-dir>/<svc>.log or journalctl, the TEE
 * through lib/tee.c, the event log through lib/evlog.c, the workload state
 * file of cocoon-workload (format in docs/health.md). Everything it returns
 * goes to the host, which is untrusted: nothing secret is read here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cocoon/buf.h"
#include "cocoon/evlog.h"
#include "cocoon/runcmd.h"
#include "cocoon/util.h"
#include "health.h"

#define STATE_FILE_MAX 4096
#define WORKLOAD_STATE_MAX (1u << 20)
#define LOG_READ_MAX (8u << 20)
#define CMD_TIMEOUT_MS 5000

static json_object *jstr(const char *s)
{
	return json_object_new_string(s);
}

/* Bytes a host terminal or a JSON parser could choke on become '?'. */
static void sanitize(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t' && c != '\n') || c >= 0x7f)
			s[i] = '?';
	}
}

char *health_error_reply(const char *msg, size_t *len)
{
	json_object *o = json_object_new_object();
	char *s;

	json_object_object_add(o, "error", jstr(msg));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	if (s && len)
		*len = strlen(s);
	return s;
}

/* ---- status, svc ---- */

static json_object *boot_state(struct health_ctx *c)
{
	_cleanup_free_ char *data = NULL;
	struct cerr err = CERR_INIT;
	size_t len = 0;
	char *nl;

	if (read_file(c->state_file, STATE_FILE_MAX, &data, &len, &err) < 0) {
		char buf[PATH_MAX + 64];

		snprintf(buf, sizeof(buf), "unknown (no %s yet)", c->state_file);
		return jstr(buf);
	}
	nl = strchr(data, '\n');
	if (nl)
		*nl = '\0';
	sanitize(data, strlen(data));
	return jstr(*data ? data : "unknown (empty state file)");
}

static json_object *systemctl_word(struct health_ctx *c, const char *verb, const char *svc)
{
	const char *argv[] = {c->systemctl, verb, svc, NULL};
	struct cmd_result res = {0};
	struct cerr err = CERR_INIT;
	char *nl;
	json_object *o;

	if (!c->systemctl[0])
		return jstr("unknown (no systemctl)");
	if (cmd_run(argv, CMD_TIMEOUT_MS, 4096, &res, &err) < 0) {
		cmd_result_free(&res);
		return jstr("unknown (systemctl failed)");
	}
	nl = strchr(res.out, '\n');
	if (nl)
		*nl = '\0';
	sanitize(res.out, strlen(res.out));
	o = jstr(res.out[0] ? res.out : "unknown");
	cmd_result_free(&res);
	return o;
}

static json_object *report_status(struct health_ctx *c, const char *svc)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	json_object *boot = boot_state(c);

	/* "ready" is what cocoon-launch waits for: cocoon-init wrote "ready" */
	json_object_object_add(
	    o, "ready", json_object_new_boolean(!strcmp(json_object_get_string(boot), "ready")));
	json_object_object_add(o, "boot", boot);
	for (size_t i = 0; i < c->services.n; i++) {
		json_object *s;
		if (svc[0] && strcmp(svc, c->services.name[i]))
			continue;
		s = json_object_new_object();
		json_object_object_add(s, "name", jstr(c->services.name[i]));
		json_object_object_add(s, "active",
		                       systemctl_word(c, "is-active", c->services.name[i]));
		json_object_array_add(arr, s);
	}
	json_object_object_add(o, "services", arr);
	return o;
}

static json_object *report_svc(struct health_ctx *c, const char *svc)
{
	const char *argv[] = {c->systemctl,
	                      "show",
	                      svc,
	                      "--no-pager",
	                      "-p",
	                      "ActiveState,SubState,Result,MainPID,NRestarts,ActiveEnterTimestamp,"
	                      "ExecMainStatus",
	                      NULL};
	json_object *o = json_object_new_object();
	struct cmd_result res = {0};
	struct cerr err = CERR_INIT;
	char *save = NULL;

	json_object_object_add(o, "name", jstr(svc));
	if (!c->systemctl[0]) {
		json_object_object_add(o, "state", jstr("unknown (no systemctl)"));
		return o;
	}
	if (cmd_run(argv, CMD_TIMEOUT_MS, 16384, &res, &err) < 0 || res.exit_code != 0) {
		json_object_object_add(o, "state", jstr("unknown (systemctl show failed)"));
		cmd_result_free(&res);
		return o;
	}
	sanitize(res.out, res.len);
	for (char *line = strtok_r(res.out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq || eq == line || eq - line > 40)
			continue;
		*eq = '\0';
		json_object_object_add(o, line, jstr(eq + 1));
	}
	cmd_result_free(&res);
	return o;
}

/* ---- logs ---- */

/* The last `want` lines of at most LOG_READ_MAX bytes from the end of path. */
static int tail_file(const char *path, unsigned long want, char **out, size_t *len, bool *truncated,
                     struct cerr *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	off_t start;
	size_t n, got = 0;
	unsigned long lines = 0;
	char *p;

	if (fd < 0)
		return cerr_set(err, errno, "open '%s'", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return cerr_setx(err, EINVAL, "'%s' is not a regular file", path);
	start = st.st_size > (off_t)LOG_READ_MAX ? st.st_size - (off_t)LOG_READ_MAX : 0;
	n = (size_t)(st.st_size - start);
	buf = malloc(n + 1);
	if (!buf)
		return cerr_set(err, ENOMEM, "read '%s'", path);
	/* a read error ends the text where it stopped, as the end of the file would */
	(void)pread_all(fd, buf, n, (uint64_t)start, &got);
	buf[got] = '\0';
	*truncated = start > 0;
	/* walk back over `want` line ends (a final newline ends the last line) */
	p = buf + got;
	if (p > buf && p[-1] == '\n')
		p--;
	while (p > buf) {
		if (p[-1] == '\n' && ++lines == want)
			break;
		p--;
	}
	if (p == buf && start > 0) {
		/* the first line read is probably cut: drop it */
		char *nl = strchr(p, '\n');
		p = nl ? nl + 1 : buf + got;
	} else if (p > buf) {
		*truncated = false;
	}
	*len = (size_t)(buf + got - p);
	*out = malloc(*len + 1);
	if (!*out)
		return cerr_set(err, ENOMEM, "read '%s'", path);
	memcpy(*out, p, *len);
	(*out)[*len] = '\0';
	return 0;
}

static int read_logs(struct health_ctx *c, const char *svc, unsigned long n, char **out,
                     size_t *len, const char **source, bool *truncated, struct cerr *err)
{
	char path[PATH_MAX + 80], count[16];
	struct cmd_result res = {0};
	int r;

	snprintf(path, sizeof(path), "%s/%s.log", c->log_dir, svc);
	if (access(path, F_OK) == 0) {
		*source = "file";
		return tail_file(path, n, out, len, truncated, err);
	}
	if (!c->journalctl[0])
		return cerr_setx(err, ENOENT, "no log for '%s' (no %s, no journalctl)", svc, path);
	snprintf(count, sizeof(count), "%lu", n);
	{
		const char *argv[] = {c->journalctl, "-u", svc,         "-n", count,
		                      "--no-pager",  "-o", "short-iso", NULL};
		r = cmd_run(argv, 10000, LOG_READ_MAX, &res, err);
	}
	if (r < 0) {
		cmd_result_free(&res);
		return cerr_prefix(err, r, "journalctl for '%s'", svc);
	}
	*source = "journal";
	*truncated = res.truncated;
	*out = res.out;
	*len = res.len;
	return 0;
}

static json_object *logs_json(const char *svc, const char *source, bool truncated, char *text)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	char *save = NULL;

	json_object_object_add(o, "service", jstr(svc));
	json_object_object_add(o, "source", jstr(source));
	json_object_object_add(o, "truncated", json_object_new_boolean(truncated));
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		json_object_array_add(arr, jstr(line));
	json_object_object_add(o, "lines", arr);
	return o;
}

/* ---- tdx, eventlog ---- */

/* The TEE as lib/tee.c sees it: the tdx interfaces under --root (a fake tree
 * in tests), the sim RTMR file. */
static int ctx_tee(struct health_ctx *c, struct tee *t, struct cerr *err)
{
	tee_init(t, c->tee);
	snprintf(t->tdx_device, sizeof(t->tdx_device), "%s", c->tdx_device);
	snprintf(t->sim_rtmr_path, sizeof(t->sim_rtmr_path), "%s", c->sim_rtmr);
	if (snprintf(t->tdx_measurements, sizeof(t->tdx_measurements), "%s%s", c->root,
	             TEE_TDX_MEASUREMENTS_DIR) >= (int)sizeof(t->tdx_measurements) ||
	    snprintf(t->tdx_tsm_report, sizeof(t->tdx_tsm_report), "%s%s", c->root,
	             TEE_TDX_TSM_REPORT_DIR) >= (int)sizeof(t->tdx_tsm_report))
		return cerr_setx(err, ENAMETOOLONG, "--root '%s' is too long", c->root);
	return 0;
}

static int current_rtmrs(struct health_ctx *c, uint8_t rtmr[TEE_RTMR_COUNT][TEE_RTMR_LEN],
                         uint8_t mrtd[48], struct cerr *err)
{
	struct tee_mrs m;
	struct tee t;
	int r;

	if ((r = ctx_tee(c, &t, err)) < 0)
		return r;
	r = tee_read_mrs(&t, &m, err);
	tee_done(&t);
	if (r < 0)
		return r;
	memcpy(rtmr, m.rtmr, sizeof(m.rtmr));
	memcpy(mrtd, m.mrtd, 48);
	return 0;
}

static json_object *report_tdx(struct health_ctx *c)
{
	json_object *o = json_object_new_object(), *arr;
	uint8_t rtmr[TEE_RTMR_COUNT][TEE_RTMR_LEN], mrtd[48];
	char hex[2 * 48 + 1];
	struct cerr err = CERR_INIT;

	json_object_object_add(o, "backend", jstr(tee_kind_name(c->tee)));
	if (c->tee == TEE_SIM)
		json_object_object_add(
		    o, "warning", jstr("sim: simulated TEE for development, protects nothing"));
	if (current_rtmrs(c, rtmr, mrtd, &err) < 0) {
		json_object_object_add(o, "available", json_object_new_boolean(false));
		json_object_object_add(o, "reason", jstr(err.msg));
		return o;
	}
	json_object_object_add(o, "available", json_object_new_boolean(true));
	if (c->tee == TEE_TDX) {
		hex_encode(mrtd, 48, hex);
		json_object_object_add(o, "mrtd", jstr(hex));
	}
	arr = json_object_new_array();
	for (int i = 0; i < TEE_RTMR_COUNT; i++) {
		hex_encode(rtmr[i], TEE_RTMR_LEN, hex);
		json_object_array_add(arr, jstr(hex));
	}
	json_object_object_add(o, "rtmr", arr);
	return o;
}

static json_object *report_eventlog(struct health_ctx *c)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	_cleanup_free_ char *data = NULL;
	uint8_t replay[RTMR_LEN], rtmr[TEE_RTMR_COUNT][TEE_RTMR_LEN], mrtd[48];
	char hex[2 * RTMR_LEN + 1], *save = NULL;
	struct cerr err = CERR_INIT;
	size_t len = 0, count = 0;

	json_object_object_add(o, "path", jstr(c->event_log));
	if (read_file(c->event_log, EVLOG_FILE_MAX, &data, &len, &err) < 0) {
		json_object_object_add(o, "error", jstr(err.msg));
		json_object_object_add(o, "entries", arr);
		return o;
	}
	if (evlog_replay(c->event_log, replay, &count, &err) < 0) {
		json_object_object_add(o, "error", jstr(err.msg));
	} else {
		hex_encode(replay, RTMR_LEN, hex);
		json_object_object_add(o, "replayed_rtmr3", jstr(hex));
		if (current_rtmrs(c, rtmr, mrtd, &err) == 0) {
			hex_encode(rtmr[3], RTMR_LEN, hex);
			json_object_object_add(o, "rtmr3", jstr(hex));
			json_object_object_add(
			    o, "matches",
			    json_object_new_boolean(!memcmp(rtmr[3], replay, RTMR_LEN)));
		} else {
			json_object_object_add(o, "rtmr3_error", jstr(err.msg));
		}
	}
	sanitize(data, len);
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		json_object_array_add(arr, jstr(line));
	json_object_object_add(o, "count", json_object_new_int((int)json_object_array_length(arr)));
	json_object_object_add(o, "entries", arr);
	return o;
}

/* ---- attest ---- */

#define ATTEST_TRIES 5

/* The event log as it is (a missing log is an empty one: nothing measured). */
static int read_evlog(struct health_ctx *c, char **out, size_t *len, struct cerr *err)
{
	int r = read_file(c->event_log, EVLOG_FILE_MAX, out, len, err);

	if (r == -ENOENT) {
		*out = strdup("");
		*len = 0;
		return *out ? 0 : cerr_set(err, ENOMEM, "event log");
	}
	return r;
}

static void add_hex(json_object *o, const char *key, const uint8_t *p, size_t n)
{
	char *hex = malloc(2 * n + 1);

	if (!hex)
		return;
	hex_encode(p, n, hex);
	json_object_object_add(o, key, jstr(hex));
	free(hex);
}

/* A quote over tee_attest_report_data(nonce), with the event log and RTMRs
 * read around it. cocoon-init extends RTMR3 a moment before it appends to
 * the log, so the three are taken again (a few times, 50 ms apart) until the
 * log and RTMRs are the same before and after the quote and the log replays
 * to RTMR3; `consistent` says whether that was reached. The owner checks the
 * quote's own RTMR3 against the log, not these. */
static int report_attest(struct health_ctx *c, const struct health_request *req, json_object **out,
                         struct cerr *err)
{
	_cleanup_free_ uint8_t *quote = NULL;
	_cleanup_free_ char *log1 = NULL;
	uint8_t rd[TDREPORT_DATA_LEN], replay[RTMR_LEN];
	struct tee_mrs m1, m2;
	size_t ql = 0, l1 = 0, count = 0;
	bool consistent = false;
	json_object *o, *arr;
	struct tee t;
	int r;

	if ((r = tee_attest_report_data(req->nonce, req->nonce_len, rd, err)) < 0)
		return r;
	if ((r = ctx_tee(c, &t, err)) < 0)
		return r;
	if (c->tee == TEE_SIM && (r = tee_sim_load_key(&t, c->sim_key, err)) < 0)
		return r;
	for (int i = 0; i < ATTEST_TRIES && !consistent; i++) {
		_cleanup_free_ char *log2 = NULL;
		size_t l2 = 0;

		if (i)
			usleep(50 * 1000);
		free(log1);
		log1 = NULL;
		free(quote);
		quote = NULL;
		if ((r = read_evlog(c, &log1, &l1, err)) < 0 ||
		    (r = tee_read_mrs(&t, &m1, err)) < 0 ||
		    (r = tee_quote(&t, rd, &quote, &ql, err)) < 0 ||
		    (r = tee_read_mrs(&t, &m2, err)) < 0 ||
		    (r = read_evlog(c, &log2, &l2, err)) < 0)
			break;
		consistent = l1 == l2 && !memcmp(log1, log2, l1) && !memcmp(&m1, &m2, sizeof(m1)) &&
		             evlog_replay_buf(log1, l1, replay, &count, NULL) == 0 &&
		             !memcmp(replay, m1.rtmr[3], RTMR_LEN);
	}
	tee_done(&t);
	if (r < 0)
		return cerr_prefix(err, r, "attest");
	o = json_object_new_object();
	json_object_object_add(o, "backend", jstr(tee_kind_name(c->tee)));
	if (c->tee == TEE_SIM)
		json_object_object_add(
		    o, "warning",
		    jstr("sim: simulated TEE for development, the quote proves nothing"));
	add_hex(o, "nonce", req->nonce, req->nonce_len);
	add_hex(o, "report_data", rd, sizeof(rd));
	json_object_object_add(o, "quote_len", json_object_new_int((int)ql));
	add_hex(o, "quote", quote, ql);
	if (c->tee == TEE_TDX)
		add_hex(o, "mrtd", m1.mrtd, 48);
	arr = json_object_new_array();
	for (int i = 0; i < TEE_RTMR_COUNT; i++) {
		char hex[2 * TEE_RTMR_LEN + 1];

		hex_encode(m1.rtmr[i], TEE_RTMR_LEN, hex);
		json_object_array_add(arr, jstr(hex));
	}
	json_object_object_add(o, "rtmr", arr);
	json_object_object_add(o, "consistent", json_object_new_boolean(consistent));
	json_object_object_add(o, "event_log_path", jstr(c->event_log));
	/* byte for byte: the owner replays it (evlog_replay refuses anything but
	 * printable ASCII lines, so nothing here needs sanitising to be safe) */
	json_object_object_add(o, "event_log", json_object_new_string_len(log1, (int)l1));
	*out = o;
	return 0;
}

/* ---- sys ---- */

json_object *report_sys(struct health_ctx *c)
{
	json_object *o = json_object_new_object(), *rates = json_object_new_object(), *tot;
	struct cerr err = CERR_INIT;
	struct sample now;

	if (sys_static(c->root, o, &err) < 0)
		json_object_object_add(o, "error", jstr(err.msg));
	for (size_t i = 0; i < 3; i++) {
		json_object *w = json_object_new_object();
		struct rates rt;

		sample_ring_rates(&c->ring, health_windows[i].seconds, &rt);
		json_object_object_add(w, "valid", json_object_new_boolean(rt.valid));
		json_object_object_add(w, "covered_s", json_object_new_double(rt.covered_s));
		json_object_object_add(w, "cpu_pct", json_object_new_double(rt.cpu_pct));
		json_object_object_add(w, "disk_read_Bps",
		                       json_object_new_double(rt.disk_read_bps));
		json_object_object_add(w, "disk_write_Bps",
		                       json_object_new_double(rt.disk_write_bps));
		json_object_object_add(w, "net_rx_Bps", json_object_new_double(rt.net_rx_bps));
		json_object_object_add(w, "net_tx_Bps", json_object_new_double(rt.net_tx_bps));
		json_object_object_add(rates, health_windows[i].label, w);
	}
	json_object_object_add(o, "rates", rates);
	if (sample_read(c->root, &now, &err) == 0) {
		tot = json_object_new_object();
		json_object_object_add(tot, "disk_read", json_object_new_uint64(now.disk_read));
		json_object_object_add(tot, "disk_write", json_object_new_uint64(now.disk_write));
		json_object_object_add(tot, "net_rx", json_object_new_uint64(now.net_rx));
		json_object_object_add(tot, "net_tx", json_object_new_uint64(now.net_tx));
		json_object_object_add(o, "total_bytes", tot);
	}
	return o;
}

/* ---- containers ---- */

static void copy_field(json_object *from, json_object *to, const char *key, json_type type)
{
	json_object *v;

	if (json_object_object_get_ex(from, key, &v) && json_object_is_type(v, type))
		json_object_object_add(to, key, json_object_get(v));
}

json_object *report_containers(struct health_ctx *c)
{
	static const char *strs[] = {"name",   "image",      "container_id", "state",
	                             "health", "started_at", "error"};
	_cleanup_free_ char *data = NULL;
	json_object *o = json_object_new_object(), *in, *svcs, *arr;
	struct cerr err = CERR_INIT;
	size_t len = 0;

	json_object_object_add(o, "path", jstr(c->workload_state));
	if (read_file(c->workload_state, WORKLOAD_STATE_MAX, &data, &len, &err) < 0) {
		json_object_object_add(
		    o, "state", jstr(err.code == ENOENT ? "no workload state yet" : err.msg));
		return o;
	}
	in = json_tokener_parse(data);
	if (!in || !json_object_is_type(in, json_type_object) ||
	    !json_object_object_get_ex(in, "services", &svcs) ||
	    !json_object_is_type(svcs, json_type_array)) {
		json_object_put(in);
		json_object_object_add(
		    o, "state", jstr("workload state file is not valid (see docs/health.md)"));
		return o;
	}
	json_object_object_add(o, "state", jstr("ok"));
	copy_field(in, o, "updated", json_type_int);
	copy_field(in, o, "engine", json_type_string);
	arr = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(svcs) && i < 256; i++) {
		json_object *s = json_object_array_get_idx(svcs, i), *t;
		if (!json_object_is_type(s, json_type_object))
			continue;
		t = json_object_new_object();
		for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
			copy_field(s, t, strs[k], json_type_string);
		copy_field(s, t, "restarts", json_type_int);
		json_object_array_add(arr, t);
	}
	json_object_object_add(o, "services", arr);
	json_object_put(in);
	return o;
}

/* ---- text rendering ---- */

static void render(struct wbuf *w, json_object *o, int indent, bool dash);

static void render_scalar(struct wbuf *w, json_object *v)
{
	if (!v)
		wbuf_printf(w, "null");
	else if (json_object_is_type(v, json_type_double))
		wbuf_printf(w, "%.2f", json_object_get_double(v));
	else
		wbuf_printf(w, "%s", json_object_get_string(v));
}

static bool is_container(json_object *v)
{
	return v && (json_object_is_type(v, json_type_object) ||
	             json_object_is_type(v, json_type_array));
}

/* dash: the first line goes right after a "- " already written */
static void render(struct wbuf *w, json_object *o, int indent, bool dash)
{
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			json_object *v = json_object_array_get_idx(o, i);
			wbuf_printf(w, "%*s- ", indent, "");
			if (is_container(v) && json_object_is_type(v, json_type_object)) {
				render(w, v, indent + 2, true);
			} else if (is_container(v)) {
				wbuf_printf(w, "\n");
				render(w, v, indent + 2, false);
			} else {
				render_scalar(w, v);
				wbuf_printf(w, "\n");
			}
		}
		return;
	}
	json_object_object_foreach(o, key, v)
	{
		wbuf_printf(w, "%*s%s:", dash ? 0 : indent, "", key);
		dash = false;
		if (is_container(v) &&
		    (json_object_is_type(v, json_type_object) ? json_object_object_length(v) > 0
		                                              : json_object_array_length(v) > 0)) {
			wbuf_printf(w, "\n");
			render(w, v, indent + 2, false);
		} else if (is_container(v)) {
			wbuf_printf(w, " (none)\n");
		} else {
			wbuf_printf(w, " ");
			render_scalar(w, v);
			wbuf_printf(w, "\n");
		}
	}
}

char *health_render_text(json_object *o)
{
	struct wbuf w;
	size_t len;

	wbuf_init(&w, HEALTH_REPLY_MAX + 1);
	render(&w, o, 0, false);
	wbuf_u8(&w, 0);
	if (wbuf_status(&w) < 0) {
		wbuf_free(&w);
		return NULL;
	}
	return (char *)wbuf_steal(&w, &len);
}

/* ---- dispatch ---- */

static json_object *build(struct health_ctx *c, const struct health_request *req)
{
	json_object *o;

	switch (req->cmd) {
	case HCMD_STATUS:
		return report_status(c, req->svc);
	case HCMD_SYS:
		return report_sys(c);
	case HCMD_SVC:
		return report_svc(c, req->svc);
	case HCMD_TDX:
		return report_tdx(c);
	case HCMD_EVENTLOG:
		return report_eventlog(c);
	case HCMD_GPU:
		pthread_mutex_lock(&c->gpu_lock);
		o = gpu_report(c->nvml_lib);
		pthread_mutex_unlock(&c->gpu_lock);
		return o;
	case HCMD_CONTAINERS:
		return report_containers(c);
	case HCMD_ALL:
		o = json_object_new_object();
		json_object_object_add(o, "status", report_status(c, ""));
		json_object_object_add(o, "sys", report_sys(c));
		json_object_object_add(o, "tdx", report_tdx(c));
		json_object_object_add(o, "eventlog", report_eventlog(c));
		pthread_mutex_lock(&c->gpu_lock);
		json_object_object_add(o, "gpu", gpu_report(c->nvml_lib));
		pthread_mutex_unlock(&c->gpu_lock);
		json_object_object_add(o, "containers", report_containers(c));
		return o;
	case HCMD_LOGS:
	case HCMD_ATTEST:
		break;
	}
	return NULL;
}

static int finish(char *s, char **out, size_t *len, struct cerr *err)
{
	size_t n;

	if (!s)
		return cerr_set(err, ENOMEM, "reply");
	n = strlen(s);
	if (n > HEALTH_REPLY_MAX) {
		free(s);
		return cerr_setx(err, EMSGSIZE, "reply of %zu bytes is over the %u-byte maximum", n,
		                 HEALTH_REPLY_MAX);
	}
	*out = s;
	*len = n;
	return 0;
}

int health_answer(struct health_ctx *c, const struct health_request *req, char **out, size_t *len,
                  struct cerr *err)
{
	json_object *o;
	char *s;
	int r;

	if (req->cmd == HCMD_LOGS) {
		char *text = NULL;
		size_t tl = 0;
		const char *source = "";
		bool truncated = false;

		r = read_logs(c, req->svc, req->lines, &text, &tl, &source, &truncated, err);
		if (r < 0)
			return r;
		sanitize(text, tl);
		if (!req->json)
			return finish(text, out, len, err);
		o = logs_json(req->svc, source, truncated, text);
		free(text);
	} else if (req->cmd == HCMD_ATTEST) {
		if ((r = report_attest(c, req, &o, err)) < 0)
			return r;
	} else {
		o = build(c, req);
	}
	if (!o)
		return cerr_set(err, ENOMEM, "reply");
	if (req->json) {
		const char *j = json_object_to_json_string_ext(
		    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		s = j ? strdup(j) : NULL;
	} else {
		s = health_render_text(o);
	}
	json_object_put(o);
	return finish(s, out, len, err);
}
