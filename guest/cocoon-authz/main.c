/* cocoon-authz - the Docker authorization plugin of Docker mode.
 *
 *   cocoon-authz --spec DIR [--socket PATH] [--load-window FILE] [--verified FILE]
 *   cocoon-authz --spec DIR --check FILE     decide one recorded AuthZReq
 *
 * Serves dockerd's plugin protocol (HTTP over a unix socket, here through
 * libmicrohttpd on a socket this program binds): /Plugin.Activate,
 * /AuthZPlugin.AuthZReq, /AuthZPlugin.AuthZRes. The decisions are those of
 * lib/authz.c against the measured workload spec DIR/docker-compose.yml; the
 * spec is read once at start and a spec that breaks a rule stops the program
 * (dockerd then denies every request: it fails closed).
 *
 * The start-up window for `images/load`: cocoon-workload opens it by creating
 * FILE (default /run/cocoon/authz-load-window) and closes it by removing it.
 * The window counts as open only while FILE is a regular file owned by root
 * (or by this program's user), not writable by group or others, and younger
 * than --load-window-max seconds (default 600), so a crashed runner cannot
 * leave it open for good.
 *
 * Images loaded from verified archives: dockerd 20.10 knows them only by ID,
 * so cocoon-workload writes --verified FILE (default
 * /run/cocoon/verified-images; lines "sha256:<ID> <service image>") and a
 * create may name such an ID. The file counts only under the same ownership
 * and mode rules as the window (no age limit: the images stay loaded).
 *
 * Exit codes: 0 stopped by SIGTERM/SIGINT (or --check: allowed), 1 the spec
 * was refused (or --check: denied), 2 usage error, 3 system error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cocoon-config.h"
#include "cocoon/authz.h"
#include "cocoon/buf.h"
#include "cocoon/compose.h"
#include "cocoon/cli.h"
#include "cocoon/log.h"
#include "cocoon/util.h"

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_SYSTEM = 3 };

#define DEFAULT_SOCKET "/run/docker/plugins/cocoon-authz.sock"
#define DEFAULT_WINDOW "/run/cocoon/authz-load-window"
#define DEFAULT_VERIFIED "/run/cocoon/verified-images"
#define VERIFIED_MAX 65536
#define PLUGIN_CT "application/vnd.docker.plugins.v1+json"

struct server {
	struct compose_spec spec;
	const char *window_path;
	long window_max_s;
	const char *verified_path;
};

struct conn {
	struct wbuf body;
	bool too_big;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: cocoon-authz --spec DIR [OPTIONS]\n"
	           "\n"
	           "Docker authorization plugin: allows only what the workload spec\n"
	           "DIR/docker-compose.yml allows (see docs/docker-mode.md).\n"
	           "\n"
	           "Options:\n"
	           "  --spec DIR              the measured spec directory (required)\n"
	           "  --socket PATH           listen here (default " DEFAULT_SOCKET ");\n"
	           "                          dockerd finds the plugin by the socket's name\n"
	           "  --load-window FILE      images/load is allowed while FILE exists, is\n"
	           "                          root's, mode without group/other write, and is\n"
	           "                          younger than --load-window-max (default\n"
	           "                          " DEFAULT_WINDOW ")\n"
	           "  --verified FILE         image IDs cocoon-workload loaded from verified\n"
	           "                          archives (default " DEFAULT_VERIFIED ")\n"
	           "  --load-window-max SEC   the longest the window stays open (default 600)\n"
	           "  --check FILE            decide one AuthZReq JSON from FILE ('-': stdin),\n"
	           "                          print the reply, exit 0 allowed / 1 denied\n"
	           "  -v, --verbose           log every decision, not only denials\n"
	           "  -q, --quiet             log nothing but errors\n"
	           "  -h, --help              this text\n"
	           "  -V, --version           print the version\n"
	           "\n"
	           "Exit status: 0 stopped by a signal, 1 spec refused, 2 usage error,\n"
	           "3 system error.\n");
}

static bool window_open(const struct server *s)
{
	struct stat st;
	struct timespec now;

	if (!s->window_path || lstat(s->window_path, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022)) {
		log_warn("ignoring load window '%s': not owned by root or writable by others",
		         s->window_path);
		return false;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec - st.st_mtim.tv_sec <= s->window_max_s &&
	       st.st_mtim.tv_sec <= now.tv_sec + 5;
}

/* cocoon-workload's list of verified image IDs, or NULL; same trust rules as
 * the window. Read per request (an lstat when there is none). */
static char *verified_ids(const struct server *s)
{
	struct stat st;
	char *text = NULL;
	size_t len;

	if (!s->verified_path || lstat(s->verified_path, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022)) {
		log_warn("ignoring '%s': not owned by root or writable by others",
		         s->verified_path);
		return NULL;
	}
	if (read_file(s->verified_path, VERIFIED_MAX, &text, &len, NULL) < 0)
		return NULL;
	return text;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *json)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", PLUGIN_CT);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	struct conn *cn = *con_cls;

	if (!cn) {
		cn = calloc(1, sizeof(*cn));
		if (!cn)
			return MHD_NO;
		wbuf_init(&cn->body, AUTHZ_MAX_REQUEST);
		*con_cls = cn;
		return MHD_YES;
	}
	if (*upload_size) {
		if (wbuf_put(&cn->body, upload, *upload_size) < 0)
			cn->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "POST"))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "{\"Err\":\"POST only\"}");
	if (!strcmp(url, "/Plugin.Activate"))
		return reply(c, MHD_HTTP_OK, "{\"Implements\":[\"authz\"]}");
	if (!strcmp(url, "/AuthZPlugin.AuthZRes"))
		return reply(c, MHD_HTTP_OK, "{\"Allow\":true,\"Msg\":\"\",\"Err\":\"\"}");
	if (strcmp(url, "/AuthZPlugin.AuthZReq"))
		return reply(c, MHD_HTTP_NOT_FOUND, "{\"Err\":\"unknown plugin call\"}");

	struct authz_env env = {&s->spec, false, NULL};
	struct authz_verdict v;
	_cleanup_free_ char *out = NULL;
	const char *body = (const char *)cn->body.p;
	size_t blen = cn->body.len;

	if (cn->too_big) {
		v.allow = false;
		snprintf(v.msg, sizeof(v.msg), "the authorization request is too large: denied");
	} else {
		/* one lstat: cheap next to the request itself */
		_cleanup_free_ char *ids = verified_ids(s);

		env.load_window_open = window_open(s);
		env.verified_ids = ids;
		authz_decide(&env, body ? body : "", blen, &v);
	}
	if (!v.allow || log_get_level() <= LOG_LVL_DEBUG) {
		/* the method and URI, for the log: a second, cheap look */
		char what[256] = "";
		const char *u = blen ? memmem(body, blen, "\"RequestUri\":\"", 14) : NULL;

		if (u) {
			u += 14;
			size_t n = strcspn(u, "\"");
			snprintf(what, sizeof(what), "%.*s", (int)(n > 200 ? 200 : n), u);
		}
		if (v.allow)
			log_debug("allow %s", what);
		else
			log_info("deny %s: %s", what, v.msg);
	}
	out = authz_reply_json(&v);
	if (!out)
		return reply(c, MHD_HTTP_OK, "{\"Allow\":false,\"Msg\":\"out of memory\"}");
	return reply(c, MHD_HTTP_OK, out);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *con_cls;

	if (cn) {
		wbuf_free(&cn->body);
		free(cn);
		*con_cls = NULL;
	}
}

static int listen_unix(const char *path, struct cerr *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path))
		return cerr_setx(err, ENAMETOOLONG, "socket path '%s' is too long", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cerr_set(err, errno, "socket");
	/* a stale socket from an earlier run is replaced; anything else is not */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return cerr_setx(err, EEXIST, "'%s' exists and is not a socket: remove it",
			                 path);
		unlink(path);
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return cerr_set(err, errno, "bind '%s' (does its directory exist?)", path);
	if (chmod(path, 0660) < 0)
		return cerr_set(err, errno, "chmod '%s'", path);
	if (listen(fd, 64) < 0)
		return cerr_set(err, errno, "listen '%s'", path);
	return TAKE_FD(fd);
}

static int load_spec(const char *dir, struct compose_spec *spec)
{
	struct cerr err = CERR_INIT;
	struct compose_opts o = {.spec_dirfd = -1};
	int r = compose_load_dir(dir, &o, spec, &err);

	if (r < 0) {
		log_cerr(&err);
		log_error("refusing to start: run `cocoon-spec validate %s` for every problem",
		          dir);
		return r == -EINVAL ? EXIT_REFUSED : EXIT_SYSTEM;
	}
	log_info("spec '%s': %zu services, %zu images allowed, %zu registries, exec %s", dir,
	         spec->n_services, spec->n_images, spec->n_registries,
	         spec->exec_allow ? "allowed" : "denied");
	return 0;
}

static int check_file(struct server *s, const char *path)
{
	struct cerr err = CERR_INIT;
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *out = NULL;
	size_t len;
	struct authz_env env = {&s->spec, false, NULL};
	struct authz_verdict v;
	int r = !strcmp(path, "-") ? read_fd(0, AUTHZ_MAX_REQUEST, "stdin", &text, &len, &err)
	                           : read_file(path, AUTHZ_MAX_REQUEST, &text, &len, &err);

	if (r < 0 && !strcmp(path, "-") && err.code == EINVAL) {
		/* stdin may be a pipe: read it in pieces */
		struct wbuf w;
		char buf[65536];
		ssize_t n;

		wbuf_init(&w, AUTHZ_MAX_REQUEST);
		while ((n = read(0, buf, sizeof(buf))) > 0)
			wbuf_put(&w, buf, (size_t)n);
		if (n < 0 || wbuf_status(&w) < 0) {
			wbuf_free(&w);
			log_error("reading stdin failed or over %u bytes", AUTHZ_MAX_REQUEST);
			return EXIT_SYSTEM;
		}
		text = (char *)wbuf_steal(&w, &len);
		r = 0;
	}
	if (r < 0) {
		log_cerr(&err);
		return EXIT_SYSTEM;
	}
	_cleanup_free_ char *ids = verified_ids(s);

	env.load_window_open = window_open(s);
	env.verified_ids = ids;
	authz_decide(&env, text ? text : "", len, &v);
	out = authz_reply_json(&v);
	puts(out ? out : "{}");
	return v.allow ? 0 : EXIT_REFUSED;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"spec", required_argument, NULL, 's'},
	    {"socket", required_argument, NULL, 'S'},
	    {"load-window", required_argument, NULL, 'w'},
	    {"load-window-max", required_argument, NULL, 'm'},
	    {"verified", required_argument, NULL, 'i'},
	    {"check", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct server s = {
	    .window_path = DEFAULT_WINDOW, .window_max_s = 600, .verified_path = DEFAULT_VERIFIED};
	const char *spec_dir = NULL, *sock = DEFAULT_SOCKET, *check = NULL;
	struct cerr err = CERR_INIT;
	struct MHD_Daemon *d;
	sigset_t set;
	int c, fd, sig, r;

	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "vqhV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			spec_dir = optarg;
			break;
		case 'S':
			sock = optarg;
			break;
		case 'w':
			s.window_path = optarg;
			break;
		case 'i':
			s.verified_path = optarg;
			break;
		case 'm': {
			long v;

			if (cli_parse_long(optarg, 0, 86400, &v) < 0) {
				log_error("--load-window-max: '%s' is not 0..86400 seconds",
				          optarg);
				return EXIT_USAGE;
			}
			s.window_max_s = v;
			break;
		}
		case 'c':
			check = optarg;
			break;
		default: {
			int done = cli_common_option(c, "cocoon-authz", usage);

			if (done != CLI_CONTINUE)
				return done;
			break;
		}
		}
	}
	if (!spec_dir || optind != argc) {
		log_error("--spec DIR is required and there are no other arguments (see --help)");
		return EXIT_USAGE;
	}
	if ((r = load_spec(spec_dir, &s.spec)))
		return r;
	if (check) {
		r = check_file(&s, check);
		compose_spec_free(&s.spec);
		return r;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	fd = listen_unix(sock, &err);
	if (fd < 0) {
		log_cerr(&err);
		compose_spec_free(&s.spec);
		return EXIT_SYSTEM;
	}
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, handle,
	                     &s, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
	                     completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
	                     MHD_OPTION_CONNECTION_LIMIT, (unsigned)256, MHD_OPTION_END);
	if (!d) {
		log_error("starting the HTTP server on '%s' failed", sock);
		close(fd);
		unlink(sock);
		compose_spec_free(&s.spec);
		return EXIT_SYSTEM;
	}
	log_info("listening on %s", sock);
	sigdelset(&set, SIGPIPE);
	while (sigwait(&set, &sig) != 0)
		;
	log_info("signal %d: stopping", sig);
	MHD_stop_daemon(d);
	close(fd);
	unlink(sock);
	compose_spec_free(&s.spec);
	return 0;
}
