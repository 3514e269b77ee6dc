/* health-monitor - Cocoon's health protocol inside the confidential VM.
 *
 *   health-monitor [--listen ADDR] [--tee tdx|sim] [paths...]
 *   health-monitor --once COMMAND [ARGS]      (answer one request on stdout)
 *
 * The host (health-client) sends one frame with a request (`status`, `sys`,
 * `svc`, `logs`, `tdx`, `eventlog`, `gpu`, `containers`, `all`; a first word
 * `json` for the JSON form) and gets one frame back. The host is untrusted:
 * requests are bounded, parsed strictly (request.c), and only allowlisted
 * service names reach systemctl/journalctl, never a shell. Replies carry
 * nothing secret.
 *
 * One thread per connection up to --max-conns (vport: one connection at a
 * time, as a virtio port allows), per-request and idle timeouts, and a
 * sampler thread for the `sys` rates.
 *
 * Exit codes: 0 stopped by SIGTERM/SIGINT (or --once answered), 1 --once: the
 * answer was an error, 2 usage error, 3 system error.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cocoon-config.h"
#include "cocoon/buf.h"
#include "cocoon/frame.h"
#include "cocoon/cli.h"
#include "cocoon/log.h"
#include "cocoon/runcmd.h"
#include "cocoon/transport.h"
#include "cocoon/util.h"
#include "health.h"

enum { EXIT_ANSWER_ERROR = 1, EXIT_USAGE = 2, EXIT_SYSTEM = 3 };

#define DEFAULT_LISTEN "vsock:any:9999"

static volatile sig_atomic_t stop_signal;
static atomic_int active_conns;
static int max_conns = 16;
static int frame_timeout_ms = 10000;
static int idle_timeout_ms = 60000;
static int sample_interval_ms = 1000;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: health-monitor [OPTIONS]\n"
	    "       health-monitor [OPTIONS] --once COMMAND [ARGS]\n"
	    "\n"
	    "Answers Cocoon's health protocol: status [svc], sys, svc <svc>, logs <svc> [n],\n"
	    "tdx, eventlog, gpu, containers, all, attest <nonce>; a first word 'json' for\n"
	    "the JSON form.\n"
	    "\n"
	    "Options:\n"
	    "  --listen ADDR          where to listen (default " DEFAULT_LISTEN "):\n"
	    "                         vsock:any:PORT, vport:NAME, unix:PATH, tcp:HOST:PORT\n"
	    "  -p, --port PORT        listen on vsock:any:PORT\n"
	    "  --once                 answer the request given as arguments on stdout and\n"
	    "                         exit (no listener; e.g. --once gpu)\n"
	    "  --tee tdx|sim          TEE backend for tdx, eventlog, attest (default tdx)\n"
	    "  --cmdline FILE         take cocoon.health=ADDR (where to listen) and\n"
	    "                         cocoon.tee=tdx|sim from this kernel command line\n"
	    "                         (/proc/cmdline) unless --listen/--port/--tee say\n"
	    "  --sim-rtmr FILE        sim RTMR file (default " TEE_SIM_RTMR_PATH ")\n"
	    "  --sim-platform-key FILE  sim: the key sim quotes are MAC'ed with\n"
	    "                         (default " TEE_SIM_KEY_PATH ")\n"
	    "  --services LIST        service allowlist, comma-separated (default\n"
	    "                         " HEALTH_DEFAULT_SERVICES ")\n"
	    "  --log-dir DIR          logs: DIR/<svc>.log before the journal\n"
	    "                         (default /var/log/cocoon)\n"
	    "  --state-file FILE      cocoon-init's boot state (default /run/cocoon/boot-state)\n"
	    "  --workload-state FILE  cocoon-workload's state\n"
	    "                         (default /run/cocoon/workload-state.json)\n"
	    "  --event-log FILE       (default /var/log/tdx-attestation.log)\n"
	    "  --systemctl PATH|none  --journalctl PATH|none  (default: from PATH)\n"
	    "  --nvml LIB             NVML library to dlopen (default libnvidia-ml.so.1)\n"
	    "  --root DIR             read /proc, and tdx's /sys files, under DIR (tests)\n"
	    "  --max-conns N          connections served at once (default 16)\n"
	    "  --timeout MS           a started request must arrive in time (default 10000)\n"
	    "  --idle-timeout MS      idle connections are closed after (default 60000)\n"
	    "  --sample-interval MS   sys sampling period (default 1000)\n"
	    "  -q, --quiet            errors only;  -v, --verbose  debug messages\n"
	    "  -h, --help             this text;    -V, --version  print the version\n"
	    "\n"
	    "Exit status: 0 stopped by SIGTERM/SIGINT or --once answered, 1 --once answer\n"
	    "was an error, 2 usage error, 3 system error.\n");
}

static void *sampler(void *arg)
{
	struct health_ctx *c = arg;
	struct cerr err = CERR_INIT;
	struct sample s;

	for (;;) {
		if (sample_read(c->root, &s, &err) == 0)
			sample_ring_push(&c->ring, &s);
		usleep((useconds_t)sample_interval_ms * 1000);
	}
	return NULL;
}

/* The reply to one request frame, always something to send. */
static char *respond(struct health_ctx *c, const uint8_t *req, size_t n, size_t *len)
{
	struct health_request hr;
	struct cerr err = CERR_INIT;
	char *out = NULL;

	if (health_request_parse(req, n, &c->services, &hr, &err) < 0 ||
	    health_answer(c, &hr, &out, len, &err) < 0) {
		log_info("request refused: %s", err.msg);
		return health_error_reply(err.msg, len);
	}
	log_debug("answered '%s' (%zu bytes)", health_cmd_name(hr.cmd), *len);
	return out;
}

static void send_error(int fd, const char *msg)
{
	size_t len = 0;
	_cleanup_free_ char *s = health_error_reply(msg, &len);
	struct cerr err = CERR_INIT;

	if (s)
		frame_write(fd, s, len, frame_timeout_ms, &err);
}

static void serve_conn(struct health_ctx *c, int fd)
{
	struct cerr err = CERR_INIT;

	while (!stop_signal) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		_cleanup_free_ uint8_t *req = NULL;
		_cleanup_free_ char *reply = NULL;
		size_t n = 0, rl = 0;
		int r;

		r = poll(&p, 1, idle_timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return; /* idle too long */
		r = frame_read(fd, HEALTH_REQUEST_MAX, frame_timeout_ms, &req, &n, &err);
		if (r == -EMSGSIZE) {
			char msg[96];
			snprintf(msg, sizeof(msg), "request too large (at most %d bytes)",
			         HEALTH_REQUEST_MAX);
			log_info("request refused: %s", err.msg);
			send_error(fd, msg); /* the rest of the frame is unread: close */
			return;
		}
		if (r < 0) {
			if (r != -ENODATA)
				log_info("connection dropped: %s", err.msg);
			return;
		}
		reply = respond(c, req, n, &rl);
		if (!reply)
			return;
		if (frame_write(fd, reply, rl, 30000, &err) < 0) {
			log_info("reply not sent: %s", err.msg);
			return;
		}
	}
}

struct conn_arg {
	struct health_ctx *c;
	int fd;
};

static void *conn_thread(void *arg)
{
	struct conn_arg *a = arg;

	serve_conn(a->c, a->fd);
	close(a->fd);
	free(a);
	atomic_fetch_sub(&active_conns, 1);
	return NULL;
}

static int serve(struct health_ctx *c, const char *listen_uri)
{
	struct tlistener l;
	struct cerr err = CERR_INIT;
	pthread_attr_t attr;
	int r;

	r = transport_listen(listen_uri, &l, &err);
	if (r < 0) {
		log_cerr(&err);
		return EXIT_SYSTEM;
	}
	log_info("listening on %s (tee %s)", l.uri, tee_kind_name(c->tee));
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	while (!stop_signal) {
		struct conn_arg *a;
		pthread_t t;
		int fd = transport_accept(&l, 500, &err);

		if (fd == -ETIMEDOUT || fd == -EINTR)
			continue;
		if (fd < 0) {
			log_cerr(&err);
			usleep(100000);
			continue;
		}
		if (l.addr.kind == TADDR_VPORT) {
			/* one peer at a time on a virtio port */
			serve_conn(c, fd);
			close(fd);
			continue;
		}
		if (atomic_load(&active_conns) >= max_conns) {
			send_error(fd, "busy: too many connections, try again");
			close(fd);
			continue;
		}
		a = malloc(sizeof(*a));
		if (!a) {
			close(fd);
			continue;
		}
		a->c = c;
		a->fd = fd;
		atomic_fetch_add(&active_conns, 1);
		if (pthread_create(&t, &attr, conn_thread, a) != 0) {
			atomic_fetch_sub(&active_conns, 1);
			close(fd);
			free(a);
		}
	}
	log_info("stopping on signal %d", (int)stop_signal);
	transport_close_listener(&l);
	return 0;
}

static int once(struct health_ctx *c, int argc, char **argv)
{
	struct wbuf w;
	_cleanup_free_ char *reply = NULL;
	uint8_t *req;
	size_t n, rl = 0;
	int rc;

	wbuf_init(&w, HEALTH_REQUEST_MAX);
	for (int i = 0; i < argc; i++)
		wbuf_printf(&w, "%s%s", i ? " " : "", argv[i]);
	if (wbuf_status(&w) < 0) {
		wbuf_free(&w);
		log_error("--once: request too long");
		return EXIT_USAGE;
	}
	req = wbuf_steal(&w, &n);
	if (!req)
		req = (uint8_t *)strdup("");
	reply = respond(c, req, n, &rl);
	free(req);
	if (!reply)
		return EXIT_SYSTEM;
	rc = !strncmp(reply, "{\"error\":", 9) ? EXIT_ANSWER_ERROR : 0;
	fwrite(reply, 1, rl, stdout);
	if (rl && reply[rl - 1] != '\n')
		putchar('\n');
	return rc;
}

static int parse_ms(const char *name, const char *s, int min, int *out)
{
	long v;

	if (cli_parse_long(s, min, 3600000, &v) < 0) {
		log_error("bad %s '%s': a number from %d to 3600000", name, s, min);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static void set_tool(char *dst, size_t n, const char *given, const char *name)
{
	if (given && !strcmp(given, "none"))
		dst[0] = '\0';
	else if (given)
		snprintf(dst, n, "%s", given);
	else if (cmd_find(NULL, name, "/usr/bin:/bin:/usr/sbin:/sbin", dst, n) < 0)
		dst[0] = '\0';
}

/* --cmdline FILE: cocoon.health=ADDR and cocoon.tee=tdx|sim from the kernel
 * command line (measured), unless --listen/--port or --tee were given. */
static int from_cmdline(const char *path, char *listen, size_t n, enum tee_kind *tee,
                        struct cerr *err)
{
	_cleanup_free_ char *text = NULL;
	char val[256];
	int r;

	if ((r = read_file(path, 65536, &text, NULL, err)) < 0)
		return r;
	if (listen && (r = cmdline_get(text, "cocoon.health", listen, n, err)) < 0)
		return cerr_prefix(err, r, "%s", path);
	if (tee && (r = cmdline_get(text, "cocoon.tee", val, sizeof(val), err)) < 0)
		return cerr_prefix(err, r, "%s", path);
	if (tee && r == 1 && (r = tee_kind_parse(val, tee, err)) < 0)
		return cerr_prefix(err, r, "%s: cocoon.tee", path);
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		OPT_LISTEN = 256,
		OPT_ONCE,
		OPT_TEE,
		OPT_SIM_RTMR,
		OPT_SERVICES,
		OPT_LOG_DIR,
		OPT_STATE,
		OPT_WORKLOAD,
		OPT_EVLOG,
		OPT_SYSTEMCTL,
		OPT_JOURNALCTL,
		OPT_NVML,
		OPT_ROOT,
		OPT_MAX_CONNS,
		OPT_TIMEOUT,
		OPT_IDLE,
		OPT_SAMPLE,
		OPT_CMDLINE,
		OPT_SIM_KEY,
	};
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, OPT_LISTEN},
	    {"port", required_argument, NULL, 'p'},
	    {"once", no_argument, NULL, OPT_ONCE},
	    {"tee", required_argument, NULL, OPT_TEE},
	    {"sim-rtmr", required_argument, NULL, OPT_SIM_RTMR},
	    {"sim-platform-key", required_argument, NULL, OPT_SIM_KEY},
	    {"services", required_argument, NULL, OPT_SERVICES},
	    {"log-dir", required_argument, NULL, OPT_LOG_DIR},
	    {"state-file", required_argument, NULL, OPT_STATE},
	    {"workload-state", required_argument, NULL, OPT_WORKLOAD},
	    {"event-log", required_argument, NULL, OPT_EVLOG},
	    {"systemctl", required_argument, NULL, OPT_SYSTEMCTL},
	    {"journalctl", required_argument, NULL, OPT_JOURNALCTL},
	    {"nvml", required_argument, NULL, OPT_NVML},
	    {"root", required_argument, NULL, OPT_ROOT},
	    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"idle-timeout", required_argument, NULL, OPT_IDLE},
	    {"sample-interval", required_argument, NULL, OPT_SAMPLE},
	    {"cmdline", required_argument, NULL, OPT_CMDLINE},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	static struct health_ctx ctx;
	struct health_ctx *c = &ctx;
	struct cerr err = CERR_INIT;
	const char *listen_uri = DEFAULT_LISTEN, *services = HEALTH_DEFAULT_SERVICES;
	const char *systemctl = NULL, *journalctl = NULL;
	char port_buf[64], cmdline_listen[256] = "";
	const char *cmdline = NULL;
	bool run_once = false, tee_given = false, listen_given = false;
	pthread_t st;
	struct sigaction sa;
	int ch;

	log_init(argv[0]);
	c->tee = TEE_TDX;
	snprintf(c->log_dir, sizeof(c->log_dir), "/var/log/cocoon");
	snprintf(c->state_file, sizeof(c->state_file), "/run/cocoon/boot-state");
	snprintf(c->workload_state, sizeof(c->workload_state), "/run/cocoon/workload-state.json");
	snprintf(c->event_log, sizeof(c->event_log), "/var/log/tdx-attestation.log");
	snprintf(c->nvml_lib, sizeof(c->nvml_lib), "libnvidia-ml.so.1");
	snprintf(c->sim_rtmr, sizeof(c->sim_rtmr), "%s", TEE_SIM_RTMR_PATH);
	snprintf(c->sim_key, sizeof(c->sim_key), "%s", TEE_SIM_KEY_PATH);
	snprintf(c->tdx_device, sizeof(c->tdx_device), "%s", TEE_TDX_DEVICE);
	/* '+': stop at the first non-option, so that --once takes the rest */
	while ((ch = getopt_long(argc, argv, "+p:qvhV", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_LISTEN:
			listen_uri = optarg;
			listen_given = true;
			break;
		case 'p': {
			int port;
			if (parse_ms("port", optarg, 1, &port) < 0)
				return EXIT_USAGE;
			snprintf(port_buf, sizeof(port_buf), "vsock:any:%d", port);
			listen_uri = port_buf;
			listen_given = true;
			break;
		}
		case OPT_ONCE:
			run_once = true;
			break;
		case OPT_TEE:
			if (tee_kind_parse(optarg, &c->tee, &err) < 0) {
				log_cerr(&err);
				return EXIT_USAGE;
			}
			tee_given = true;
			break;
		case OPT_SIM_RTMR:
			snprintf(c->sim_rtmr, sizeof(c->sim_rtmr), "%s", optarg);
			break;
		case OPT_SIM_KEY:
			snprintf(c->sim_key, sizeof(c->sim_key), "%s", optarg);
			break;
		case OPT_SERVICES:
			services = optarg;
			break;
		case OPT_LOG_DIR:
			snprintf(c->log_dir, sizeof(c->log_dir), "%s", optarg);
			break;
		case OPT_STATE:
			snprintf(c->state_file, sizeof(c->state_file), "%s", optarg);
			break;
		case OPT_WORKLOAD:
			snprintf(c->workload_state, sizeof(c->workload_state), "%s", optarg);
			break;
		case OPT_EVLOG:
			snprintf(c->event_log, sizeof(c->event_log), "%s", optarg);
			break;
		case OPT_SYSTEMCTL:
			systemctl = optarg;
			break;
		case OPT_JOURNALCTL:
			journalctl = optarg;
			break;
		case OPT_NVML:
			snprintf(c->nvml_lib, sizeof(c->nvml_lib), "%s", optarg);
			break;
		case OPT_ROOT:
			snprintf(c->root, sizeof(c->root), "%s", optarg);
			break;
		case OPT_MAX_CONNS:
			if (parse_ms("--max-conns", optarg, 1, &max_conns) < 0)
				return EXIT_USAGE;
			break;
		case OPT_TIMEOUT:
			if (parse_ms("--timeout", optarg, 1, &frame_timeout_ms) < 0)
				return EXIT_USAGE;
			break;
		case OPT_IDLE:
			if (parse_ms("--idle-timeout", optarg, 1, &idle_timeout_ms) < 0)
				return EXIT_USAGE;
			break;
		case OPT_SAMPLE:
			if (parse_ms("--sample-interval", optarg, 10, &sample_interval_ms) < 0)
				return EXIT_USAGE;
			break;
		case OPT_CMDLINE:
			cmdline = optarg;
			break;
		default: {
			int done = cli_common_option(ch, "health-monitor", usage);

			if (done != CLI_CONTINUE)
				return done;
			break;
		}
		}
	}
	if (!run_once && optind < argc) {
		log_error("unexpected argument '%s' (requests go after --once)", argv[optind]);
		return EXIT_USAGE;
	}
	if (cmdline && from_cmdline(cmdline, listen_given ? NULL : cmdline_listen,
	                            sizeof(cmdline_listen), tee_given ? NULL : &c->tee, &err) < 0) {
		log_cerr(&err);
		return EXIT_USAGE;
	}
	if (cmdline_listen[0])
		listen_uri = cmdline_listen;
	if (health_services_parse(services, &c->services, &err) < 0) {
		log_cerr(&err);
		return EXIT_USAGE;
	}
	set_tool(c->systemctl, sizeof(c->systemctl), systemctl, "systemctl");
	set_tool(c->journalctl, sizeof(c->journalctl), journalctl, "journalctl");
	sample_ring_init(&c->ring);
	pthread_mutex_init(&c->gpu_lock, NULL);
	if (c->tee == TEE_SIM)
		log_warn("TEE backend sim: development only, the tdx report protects nothing");

	if (run_once)
		return once(c, argc - optind, argv + optind);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&st, NULL, sampler, c) != 0) {
		log_error("cannot start the sampler thread");
		return EXIT_SYSTEM;
	}
	pthread_detach(st);
	return serve(c, listen_uri);
}
