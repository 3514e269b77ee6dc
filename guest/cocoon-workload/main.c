/* cocoon-workload - runs the workload spec's services through the engine.
 *
 *   cocoon-workload --spec DIR [--socket PATH] [--images DIR] [--state FILE]
 *
 * Last step of the guest's boot (ARCHITECTURE.md §3, steps 9-10), after the
 * engine is up with cocoon-authz:
 *
 * 0. Shares. The host writes /data: each bind source of every service is
 *    resolved beneath its share (--data for /data/..., --spec for /spec/...)
 *    by lib/beneath (openat2, no symlink followed, nothing above the share),
 *    and must be a directory or a regular file; anything else (a link on the
 *    way, a FIFO, a device, a socket) refuses the spec before any container
 *    is created, and again just before each one is.
 * 1. Images. For each service image NAME@sha256:D, an archive DIR/<D hex>.tar
 *    in --images (the host's /data/images) is an OCI image layout: opened
 *    beneath the share the same way (a regular file, no link), it is copied
 *    (the size fstat gave; refused when it changed meanwhile) to an unnamed
 *    private file in --work (the encrypted disk), mapped, verified against D
 *    (lib/oci.c), streamed in the docker-save form from the verified bytes
 *    through `POST /images/load` while the authz start-up window is open (the
 *    window file exists only around that call). dockerd 20.10 knows a loaded
 *    image by ID only (the config digest the verified manifest pins), so the
 *    ID is recorded in --verified for cocoon-authz, and the container is
 *    created from that ID. Without an archive the image is pulled by digest,
 *    only from x-cocoon.registries.
 * 2. Containers `<project>-<service>`, created with exactly the spec's
 *    settings (lib/compose.c builds the create body; an older container of the
 *    same name, e.g. from the previous boot on /persist, is removed first),
 *    started in depends_on order (service_healthy waits for healthy).
 * 3. Monitoring: every --interval seconds the state of each container goes to
 *    the state file health-monitor serves (format in docs/health.md).
 *    Restarting per policy is dockerd's job; the file shows its restart count.
 * 4. SIGTERM/SIGINT: containers stopped in reverse order, the state written
 *    once more, exit 0.
 *
 * Exit codes: 0 stopped by a signal (or --once: all started), 1 the spec or
 * an image was refused, 2 usage error, 3 system or engine error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cocoon-config.h"
#include "cocoon/beneath.h"
#include "cocoon/buf.h"
#include "cocoon/compose.h"
#include "cocoon/engine.h"
#include "cocoon/err.h"
#include "cocoon/cli.h"
#include "cocoon/log.h"
#include "cocoon/oci.h"
#include "cocoon/util.h"

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_SYSTEM = 3 };

#define DEFAULT_SOCKET "/var/run/docker.sock"
#define DEFAULT_STATE "/run/cocoon/workload-state.json"
#define DEFAULT_WINDOW "/run/cocoon/authz-load-window"
#define DEFAULT_VERIFIED "/run/cocoon/verified-images"
#define DEFAULT_WORKDIR "/persist/cocoon-images"
#define DEFAULT_DATA "/data"
#define ARCHIVE_MAX (256ull << 30) /* bytes of one image archive */

struct svc_run {
	const struct compose_service *s;
	char create_image[600]; /* what the container is created from */
	char id[80];
	char cname[300];
	char error[CERR_MSG_MAX];
	bool started;
	bool stopping; /* stopped by cocoon-workload on SIGTERM */
};

struct opts {
	const char *spec, *sock, *images, *state, *window, *verified, *project, *workdir, *data;
	long interval;
	bool once;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: cocoon-workload --spec DIR [OPTIONS]\n"
	           "\n"
	           "Runs the services of the workload spec DIR/docker-compose.yml through the\n"
	           "engine's API (see docs/docker-mode.md).\n"
	           "\n"
	           "Options:\n"
	           "  --spec DIR          the measured spec directory (required)\n"
	           "  --socket PATH       the engine's socket (default " DEFAULT_SOCKET ")\n"
	           "  --images DIR        verified OCI archives DIR/<digest hex>.tar (else pull)\n"
	           "  --data DIR          where the host's data share is mounted: bind sources\n"
	           "                      /data/... (and --images, when in it) are resolved\n"
	           "                      beneath it, never through a link (default " DEFAULT_DATA
	           ")\n"
	           "  --work DIR          private copies of the archives while they are verified\n"
	           "                      and loaded (default " DEFAULT_WORKDIR ")\n"
	           "  --state FILE        state for health-monitor (default " DEFAULT_STATE ")\n"
	           "  --load-window FILE  cocoon-authz's images/load window (default\n"
	           "                      " DEFAULT_WINDOW ")\n"
	           "  --verified FILE     loaded image IDs for cocoon-authz (default\n"
	           "                      " DEFAULT_VERIFIED ")\n"
	           "  --project NAME      container name prefix (default cocoon)\n"
	           "  --interval SEC      state refresh period (default 2)\n"
	           "  --once              start the services, write the state, exit\n"
	           "  -v, --verbose       -q, --quiet\n"
	           "  -h, --help          -V, --version\n"
	           "\n"
	           "Exit status: 0 stopped by SIGTERM/SIGINT (--once: started), 1 spec or image\n"
	           "refused, 2 usage error, 3 system or engine error.\n");
}

static const char *jpath_str(json_object *o, const char *a, const char *b);

static void json_put(json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_json_ __attribute__((cleanup(json_put)))

static void urlenc(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 4 < len; in++) {
		unsigned char c = (unsigned char)*in;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c))
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, len - o, "%%%02X", c);
	}
	out[o] = 0;
}

/* A call whose reply must be 2xx; the engine's message otherwise. */
static int call_ok(struct engine *e, const char *method, const char *path, const char *body,
                   size_t blen, const char *ctype, long timeout, char **reply, struct cerr *err)
{
	long status = 0;
	char *rep = NULL, m[400];
	int r = engine_call(e, method, path, body, blen, ctype, timeout, &status, &rep, err);

	if (r < 0)
		return r;
	if (status < 200 || status > 299) {
		r = cerr_setx(err, status == 403 ? EPERM : EIO, "engine %s %s: HTTP %ld: %s",
		              method, path, status, engine_message(rep, m, sizeof(m)));
		free(rep);
		return r;
	}
	if (reply)
		*reply = rep;
	else
		free(rep);
	return 0;
}

/* Streamed replies (pull, load) report failures as {"error": ...} lines. */
static int stream_error(const char *reply, const char *what, struct cerr *err)
{
	const char *l = reply;

	while (l && *l) {
		size_t n = strcspn(l, "\n");
		json_tokener *tok = json_tokener_new();
		json_object *o = tok ? json_tokener_parse_ex(tok, l, (int)n) : NULL, *m;

		json_tokener_free(tok);
		if (o && json_object_object_get_ex(o, "error", &m)) {
			int r = cerr_setx(err, EIO, "%s: %s", what, json_object_get_string(m));
			json_object_put(o);
			return r;
		}
		json_object_put(o);
		l += n;
		if (*l)
			l++;
	}
	return 0;
}

static int write_marker(const char *path, const char *text, struct cerr *err)
{
	return write_file_atomic(path, text, strlen(text), 0600, err);
}

/* A private copy of the host's archive: an unnamed file (O_TMPFILE) in the
 * work directory (the encrypted disk in production), mapped read-only. The
 * host could change its own file between the check and the load; nobody can
 * reach this one. SRC was opened beneath the share (a regular file, ST its
 * stat): exactly st_size bytes are copied, and a file that changed while it
 * was read is refused. Returns the mapping and its length. */
static int private_copy(int src, const struct stat *st, const char *path, const char *workdir,
                        uint8_t **map, size_t *len, struct cerr *err)
{
	_cleanup_close_ int dst = -1;
	uint64_t done = 0, size = (uint64_t)st->st_size;
	void *m;
	int r;

	if (size == 0)
		return cerr_setx(err, EBADMSG, "%s is empty", path);
	if (size > ARCHIVE_MAX)
		return cerr_setx(err, EFBIG, "%s: over %llu bytes", path,
		                 (unsigned long long)ARCHIVE_MAX);
	if (mkdir(workdir, 0700) < 0 && errno != EEXIST)
		return cerr_set(err, errno, "mkdir '%s'", workdir);
	dst = open(workdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (dst < 0)
		return cerr_set(err, errno, "a private file in '%s' (--work)", workdir);
	while (done < size) {
		size_t want = size - done > (1u << 30) ? (1u << 30) : (size_t)(size - done);
		ssize_t n = copy_file_range(src, NULL, dst, NULL, want, 0);
		if (n < 0 &&
		    (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
			char buf[1 << 16];
			n = read(src, buf, want < sizeof(buf) ? want : sizeof(buf));
			if (n > 0 && write_all(dst, buf, (size_t)n) < 0)
				return cerr_set(err, errno, "copying '%s' into '%s'", path,
				                workdir);
		}
		if (n < 0)
			return cerr_set(err, errno, "copying '%s' into '%s'", path, workdir);
		if (n == 0)
			break;
		done += (uint64_t)n;
	}
	/* shorter than fstat said, or grown, or rewritten while it was read */
	if ((r = beneath_check_unchanged(src, st, done, path, err)) < 0)
		return r;
	m = mmap(NULL, (size_t)done, PROT_READ, MAP_PRIVATE, dst, 0);
	if (m == MAP_FAILED)
		return cerr_set(err, errno, "mapping the copy of '%s'", path);
	*map = m;
	*len = (size_t)done;
	return 0;
}

static size_t read_stream(void *ctx, uint8_t *buf, size_t max)
{
	return oci_stream_read(ctx, buf, max);
}

/* Verify the archive, load it inside the window, record the ID. */
static int load_archive(struct engine *e, const struct opts *o, int fd, const struct stat *st,
                        const char *path, const struct compose_ref *ref, const char *image,
                        struct wbuf *verified, char *id_out, size_t id_len, struct cerr *err)
{
	_cleanup_free_ char *reply = NULL;
	uint8_t *data = NULL;
	struct oci_tar t;
	struct oci_image img;
	struct oci_stream s;
	size_t len = 0;
	long status = 0;
	char p[128], m[400];
	int r;

	r = private_copy(fd, st, path, o->workdir, &data, &len, err);
	if (r < 0)
		return r;
	r = oci_tar_parse(data, len, &t, err);
	if (r < 0) {
		munmap(data, len);
		return cerr_prefix(err, r, "%s", path);
	}
	r = oci_verify(&t, ref->digest, path, &img, err);
	if (r >= 0)
		r = oci_docker_stream(&img, &s, err);
	oci_tar_free(&t);
	if (r < 0) {
		munmap(data, len);
		return r;
	}
	log_info("%s: verified (manifest %s, config %s, %zu layers); loading", path,
	         img.manifest.digest, img.config.digest, img.n_layers);
	r = write_marker(o->window, "cocoon-workload images/load\n", err);
	if (r >= 0) {
		r = engine_call_stream(e, "POST", "/images/load?quiet=1", read_stream, &s, s.total,
		                       "application/x-tar", 0, &status, &reply, err);
		if (unlink(o->window) < 0 && errno != ENOENT)
			log_warn("could not close the load window %s: %m", o->window);
		if (r >= 0 && (status < 200 || status > 299))
			r = cerr_setx(err, status == 403 ? EPERM : EIO,
			              "engine images/load: HTTP %ld: %s", status,
			              engine_message(reply, m, sizeof(m)));
		if (r >= 0)
			r = stream_error(reply, path, err);
	}
	oci_stream_free(&s);
	munmap(data, len);
	if (r < 0)
		return cerr_prefix(err, r, "loading %s", path);
	snprintf(p, sizeof(p), "/images/%s/json", img.config.digest);
	r = call_ok(e, "GET", p, NULL, 0, NULL, 30, NULL, err);
	if (r < 0)
		return cerr_prefix(err, r, "%s loaded but image %s is not there", path,
		                   img.config.digest);
	snprintf(id_out, id_len, "%s", img.config.digest);
	wbuf_printf(verified, "%s %s\n", img.config.digest, image);
	r = wbuf_status(verified);
	if (r < 0)
		return cerr_set(err, -r, "the list of verified images");
	return write_file_atomic(o->verified, verified->p, verified->len, 0644, err);
}

static int pull(struct engine *e, const struct compose_spec *spec, const struct compose_ref *ref,
                const char *image, struct cerr *err)
{
	_cleanup_free_ char *reply = NULL;
	char name[600], from[1400], tag[200], path[1800];
	int r;

	snprintf(path, sizeof(path), "/images/%s/json", image);
	if (call_ok(e, "GET", path, NULL, 0, NULL, 30, NULL, NULL) == 0)
		return 0; /* already there (pulled on an earlier boot) */
	if (!compose_registry_allowed(spec, ref->domain))
		return cerr_setx(err, EPERM,
		                 "image %s: no verified archive and registry %s is not in "
		                 "x-cocoon.registries; add the archive to the images directory or "
		                 "the registry to the spec",
		                 image, ref->domain);
	snprintf(name, sizeof(name), "%s/%s", ref->domain, ref->path);
	urlenc(name, from, sizeof(from));
	urlenc(ref->digest, tag, sizeof(tag));
	snprintf(path, sizeof(path), "/images/create?fromImage=%s&tag=%s", from, tag);
	log_info("pulling %s", image);
	r = call_ok(e, "POST", path, NULL, 0, NULL, 0, &reply, err);
	if (r >= 0)
		r = stream_error(reply, image, err);
	return r < 0 ? cerr_prefix(err, r, "pull of %s", image) : 0;
}

/* The archive HEX.tar in --images, opened beneath the data share when
 * --images is in it (so that /data/images itself may not be a link either),
 * else beneath --images. -ENOENT (err cleared) when there is none. */
static int open_archive(const struct opts *o, const char *hex, int *fd, struct stat *st,
                        struct cerr *err)
{
	const char *in_data = beneath_rel(o->data, o->images);
	char rel[4096];
	int r;

	if ((size_t)snprintf(rel, sizeof(rel), "%s%s%s.tar", in_data ? in_data : "",
	                     in_data && *in_data ? "/" : "", hex) >= sizeof(rel))
		return cerr_setx(err, ENAMETOOLONG, "--images '%s' is too long", o->images);
	r = beneath_open(in_data ? o->data : o->images, rel, BENEATH_REG, fd, st, err);
	if (r == -ENOENT)
		cerr_clear(err);
	return r;
}

/* Every bind source of the service, resolved beneath its share: a
 * directory or a regular file, reached without a link. */
static int check_binds(const struct opts *o, const struct compose_service *s, struct cerr *err)
{
	_cleanup_json_ json_object *body = json_tokener_parse(s->create_json ? s->create_json : "");
	json_object *hc, *mounts;

	if (!body || !json_object_object_get_ex(body, "HostConfig", &hc) ||
	    !json_object_object_get_ex(hc, "Mounts", &mounts) ||
	    !json_object_is_type(mounts, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(mounts); i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		const char *type = jpath_str(m, "Type", NULL), *src = jpath_str(m, "Source", NULL);
		const char *rel, *root;
		_cleanup_close_ int fd = -1;
		int r;

		if (!type || strcmp(type, "bind") || !src)
			continue;
		if ((rel = beneath_rel("/data", src)))
			root = o->data;
		else if ((rel = beneath_rel("/spec", src)))
			root = o->spec;
		else
			return cerr_setx(err, EPERM,
			                 "service %s: bind of '%s': not in /data or /spec: refused",
			                 s->name, src);
		r = beneath_open(root, rel, BENEATH_DIR | BENEATH_REG, &fd, NULL, err);
		if (r < 0)
			return cerr_prefix(err, r == -ENOENT ? -ENOENT : -EPERM,
			                   "service %s: bind of '%s'", s->name, src);
	}
	return 0;
}

static int check_all_binds(const struct opts *o, const struct compose_spec *spec, struct cerr *err)
{
	for (size_t i = 0; i < spec->n_svc; i++) {
		int r = check_binds(o, &spec->svc[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int prepare_images(struct engine *e, const struct opts *o, const struct compose_spec *spec,
                          struct svc_run *run, struct cerr *err)
{
	struct wbuf verified;
	int r = 0;

	wbuf_init(&verified, 65536);
	for (size_t i = 0; i < spec->n_svc && r >= 0; i++) {
		const char *image = run[i].s->image;
		struct compose_ref ref;
		char path[4096];
		struct stat st;
		bool done = false;
		int fd;

		r = compose_ref_parse(image, true, &ref, err);
		if (r < 0)
			break;
		/* the same image for two services: verified once */
		for (size_t j = 0; j < i; j++)
			if (!strcmp(run[j].s->image, image)) {
				snprintf(run[i].create_image, sizeof(run[i].create_image), "%s",
				         run[j].create_image);
				done = true;
			}
		if (done)
			continue;
		snprintf(path, sizeof(path), "%s/%s.tar", o->images ? o->images : "",
		         ref.digest + 7);
		fd = -1;
		if (o->images && (r = open_archive(o, ref.digest + 7, &fd, &st, err)) < 0 &&
		    r != -ENOENT)
			break;
		if (fd >= 0) {
			r = load_archive(e, o, fd, &st, path, &ref, image, &verified,
			                 run[i].create_image, sizeof(run[i].create_image), err);
			close(fd);
		} else {
			r = pull(e, spec, &ref, image, err);
			snprintf(run[i].create_image, sizeof(run[i].create_image), "%s", image);
		}
	}
	wbuf_free(&verified);
	return r;
}

static int inspect(struct engine *e, const char *id, json_object **out, struct cerr *err)
{
	_cleanup_free_ char *reply = NULL;
	char path[200];
	int r;

	snprintf(path, sizeof(path), "/containers/%s/json", id);
	r = call_ok(e, "GET", path, NULL, 0, NULL, 30, &reply, err);
	if (r < 0)
		return r;
	*out = json_tokener_parse(reply);
	if (!*out || !json_object_is_type(*out, json_type_object)) {
		json_put(out);
		return cerr_setx(err, EBADMSG, "inspect of %s: not a JSON object", id);
	}
	return 0;
}

static const char *jpath_str(json_object *o, const char *a, const char *b)
{
	json_object *x;

	if (!json_object_object_get_ex(o, a, &x))
		return NULL;
	if (b &&
	    (!json_object_is_type(x, json_type_object) || !json_object_object_get_ex(x, b, &x)))
		return NULL;
	return json_object_is_type(x, json_type_string) ? json_object_get_string(x) : NULL;
}

static const char *health_of(json_object *c)
{
	json_object *st, *h;
	const char *v = NULL;

	if (json_object_object_get_ex(c, "State", &st) &&
	    json_object_object_get_ex(st, "Health", &h))
		v = jpath_str(h, "Status", NULL);
	return v && *v ? v : NULL; /* Podman says "" without a healthcheck */
}

static int create_start(struct engine *e, const struct opts *o, struct svc_run *sr,
                        struct cerr *err)
{
	_cleanup_json_ json_object *body = json_tokener_parse(sr->s->create_json);
	_cleanup_free_ char *reply = NULL;
	_cleanup_json_ json_object *rep = NULL;
	char path[600], name[400];
	const char *js, *id;
	int r;

	if (!body)
		return cerr_setx(err, EINVAL, "services.%s: no create body", sr->s->name);
	/* again, just before the container: the host may have planted since */
	if ((r = check_binds(o, sr->s, err)) < 0)
		return r;
	json_object_object_add(body, "Image", json_object_new_string(sr->create_image));
	snprintf(sr->cname, sizeof(sr->cname), "%s-%s", o->project, sr->s->name);
	/* settings are exactly the spec's: an older container of that name goes */
	snprintf(path, sizeof(path), "/containers/%s?force=1&v=0", sr->cname);
	engine_call(e, "DELETE", path, NULL, 0, NULL, 60, &(long){0}, NULL, NULL);
	urlenc(sr->cname, name, sizeof(name));
	snprintf(path, sizeof(path), "/containers/create?name=%s", name);
	js = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
	                                              JSON_C_TO_STRING_NOSLASHESCAPE);
	r = call_ok(e, "POST", path, js, strlen(js), "application/json", 60, &reply, err);
	if (r < 0)
		return cerr_prefix(err, r, "service %s", sr->s->name);
	rep = json_tokener_parse(reply);
	id = rep ? jpath_str(rep, "Id", NULL) : NULL;
	if (!id || strlen(id) >= sizeof(sr->id))
		return cerr_setx(err, EBADMSG, "service %s: create reply without an Id",
		                 sr->s->name);
	snprintf(sr->id, sizeof(sr->id), "%s", id);
	snprintf(path, sizeof(path), "/containers/%s/start", sr->id);
	r = call_ok(e, "POST", path, NULL, 0, NULL, 60, NULL, err);
	if (r < 0)
		return cerr_prefix(err, r, "starting service %s", sr->s->name);
	sr->started = true;
	log_info("service %s: container %s (%.12s) started", sr->s->name, sr->cname, sr->id);
	return 0;
}

static struct svc_run *find_run(struct svc_run *run, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(run[i].s->name, name))
			return &run[i];
	return NULL;
}

/* depends_on: started is enough, or healthy for service_healthy (5 min). */
static int wait_deps(struct engine *e, struct svc_run *run, size_t n, struct svc_run *sr,
                     struct cerr *err)
{
	for (size_t d = 0; d < sr->s->n_deps; d++) {
		struct svc_run *dep = find_run(run, n, sr->s->deps[d].service);
		int64_t end = now_ms() + 300000;

		if (!dep || !dep->started)
			return cerr_setx(err, EINVAL, "service %s: depends on %s, not started",
			                 sr->s->name, sr->s->deps[d].service);
		while (sr->s->deps[d].healthy) {
			_cleanup_json_ json_object *c = NULL;
			const char *h;
			int r = inspect(e, dep->id, &c, err);
			if (r < 0)
				return r;
			h = health_of(c);
			if (h && !strcmp(h, "healthy"))
				break;
			if (now_ms() > end)
				return cerr_setx(
				    err, ETIMEDOUT, "service %s: %s not healthy after 300 s (%s)",
				    sr->s->name, dep->s->name, h ? h : "no healthcheck");
			usleep(500000);
		}
	}
	return 0;
}

static int start_all(struct engine *e, const struct opts *o, struct svc_run *run, size_t n,
                     struct cerr *err)
{
	/* depends_on order: repeatedly start what has every dependency started;
	 * the spec check refuses unknown names, a cycle ends here */
	for (size_t done = 0; done < n;) {
		size_t before = done;
		for (size_t i = 0; i < n; i++) {
			bool ready = !run[i].started;
			for (size_t d = 0; ready && d < run[i].s->n_deps; d++) {
				struct svc_run *dep = find_run(run, n, run[i].s->deps[d].service);
				ready = dep && dep->started;
			}
			if (!ready)
				continue;
			int r = wait_deps(e, run, n, &run[i], err);
			if (r >= 0)
				r = create_start(e, o, &run[i], err);
			if (r < 0) {
				snprintf(run[i].error, sizeof(run[i].error), "%s", err->msg);
				return r;
			}
			done++;
		}
		if (done == before)
			return cerr_setx(err, EINVAL,
			                 "depends_on has a cycle: services left unstarted");
	}
	return 0;
}

static json_object *service_state(struct engine *e, struct svc_run *sr)
{
	json_object *o = json_object_new_object(), *c = NULL, *st;
	struct cerr err = CERR_INIT;
	const char *s, *h = NULL, *started = NULL, *cerror = NULL;
	char policy_err[200] = "";
	int64_t restarts = 0;

	json_object_object_add(o, "name", json_object_new_string(sr->s->name));
	json_object_object_add(o, "image", json_object_new_string(sr->s->image));
	json_object_object_add(o, "container_id", json_object_new_string(sr->id));
	if (!sr->id[0]) {
		s = "not created";
	} else if (inspect(e, sr->id, &c, &err) < 0) {
		s = "unknown";
		snprintf(sr->error, sizeof(sr->error), "%s", err.msg);
	} else {
		s = jpath_str(c, "State", "Status");
		h = health_of(c);
		started = jpath_str(c, "State", "StartedAt");
		cerror = jpath_str(c, "State", "Error");
		if (json_object_object_get_ex(c, "RestartCount", &st))
			restarts = json_object_get_int64(st);
		/* restarting is dockerd's job: say so when it did not (a service
		 * stopped by us on SIGTERM is not running by design) */
		if (!sr->stopping && s && !strcmp(s, "exited") &&
		    (!strcmp(sr->s->restart, "always") ||
		     !strcmp(sr->s->restart, "unless-stopped")))
			snprintf(policy_err, sizeof(policy_err),
			         "exited although its restart policy is %s: the engine did not "
			         "restart it",
			         sr->s->restart);
	}
	json_object_object_add(o, "state", json_object_new_string(s ? s : "unknown"));
	json_object_object_add(o, "health", json_object_new_string(h ? h : "none"));
	json_object_object_add(o, "restarts", json_object_new_int64(restarts));
	json_object_object_add(o, "started_at", json_object_new_string(started ? started : ""));
	if (cerror && *cerror)
		json_object_object_add(o, "error", json_object_new_string(cerror));
	else
		json_object_object_add(
		    o, "error", json_object_new_string(sr->error[0] ? sr->error : policy_err));
	json_put(&c);
	return o;
}

static void write_state(struct engine *e, const struct opts *o, const struct compose_spec *spec,
                        struct svc_run *run, size_t n)
{
	_cleanup_json_ json_object *top = json_object_new_object();
	json_object *svcs = json_object_new_array();
	struct cerr err = CERR_INIT;
	const char *js;

	json_object_object_add(top, "version", json_object_new_int(1));
	json_object_object_add(top, "updated", json_object_new_int64((int64_t)time(NULL)));
	json_object_object_add(
	    top, "engine",
	    json_object_new_string(spec->engine == COMPOSE_ENGINE_PODMAN ? "podman" : "docker"));
	json_object_object_add(top, "services", svcs);
	for (size_t i = 0; i < n; i++)
		json_object_array_add(svcs, service_state(e, &run[i]));
	js = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN |
	                                             JSON_C_TO_STRING_NOSLASHESCAPE);
	if (write_file_atomic(o->state, js, strlen(js), 0644, &err) < 0)
		log_cerr(&err);
}

static void stop_all(struct engine *e, struct svc_run *run, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		char path[200];
		struct cerr err = CERR_INIT;
		if (!run[i].id[0])
			continue;
		run[i].stopping = true;
		snprintf(path, sizeof(path), "/containers/%s/stop?t=10", run[i].id);
		if (call_ok(e, "POST", path, NULL, 0, NULL, 30, NULL, &err) < 0 &&
		    !strstr(err.msg, "304"))
			log_cerr(&err);
		else
			log_info("service %s stopped", run[i].s->name);
	}
}

static int wait_engine(struct engine *e, struct cerr *err)
{
	int64_t end = now_ms() + 60000;
	long status;

	for (;;) {
		int r = engine_call(e, "GET", "/_ping", NULL, 0, NULL, 5, &status, NULL, err);
		if (r == 0 && status == 200)
			return 0;
		if (now_ms() > end)
			return r < 0 ? r : cerr_setx(err, EIO, "engine /_ping: HTTP %ld", status);
		usleep(200000);
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"spec", required_argument, NULL, 's'},
	    {"socket", required_argument, NULL, 'S'},
	    {"images", required_argument, NULL, 'i'},
	    {"data", required_argument, NULL, 'D'},
	    {"state", required_argument, NULL, 't'},
	    {"load-window", required_argument, NULL, 'w'},
	    {"verified", required_argument, NULL, 'f'},
	    {"work", required_argument, NULL, 'W'},
	    {"project", required_argument, NULL, 'p'},
	    {"interval", required_argument, NULL, 'n'},
	    {"once", no_argument, NULL, 'o'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct opts o = {.sock = DEFAULT_SOCKET,
	                 .state = DEFAULT_STATE,
	                 .window = DEFAULT_WINDOW,
	                 .verified = DEFAULT_VERIFIED,
	                 .project = "cocoon",
	                 .workdir = DEFAULT_WORKDIR,
	                 .data = DEFAULT_DATA,
	                 .interval = 2};
	struct compose_spec spec = {0};
	struct cerr err = CERR_INIT;
	struct engine *e = NULL;
	_cleanup_free_ struct svc_run *run = NULL;
	sigset_t set;
	int c, r, code = 0;

	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "vqhV", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			o.spec = optarg;
			break;
		case 'S':
			o.sock = optarg;
			break;
		case 'i':
			o.images = optarg;
			break;
		case 'D':
			o.data = optarg;
			break;
		case 't':
			o.state = optarg;
			break;
		case 'w':
			o.window = optarg;
			break;
		case 'f':
			o.verified = optarg;
			break;
		case 'p':
			o.project = optarg;
			break;
		case 'W':
			o.workdir = optarg;
			break;
		case 'n':
			/* "5x" or "" is an error, not 5 or 0 */
			if (cli_parse_long(optarg, 1, 3600, &o.interval) < 0) {
				log_error("--interval: '%s' is not 1..3600 seconds", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'o':
			o.once = true;
			break;
		default: {
			int done = cli_common_option(c, "cocoon-workload", usage);

			if (done != CLI_CONTINUE)
				return done;
			break;
		}
		}
	}
	if (!o.spec || optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strspn(o.project, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(o.project) ||
	    !*o.project || strlen(o.project) > 64) {
		log_error("--project: '%s' must be 1-64 of a-z, 0-9, '_', '-'", o.project);
		return EXIT_USAGE;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);

	r = compose_load_dir(o.spec, NULL, &spec, &err);
	if (r < 0) {
		log_error("workload spec %s: %s", o.spec, err.msg);
		return r == -EINVAL ? EXIT_REFUSED : EXIT_SYSTEM;
	}
	run = calloc(spec.n_svc ? spec.n_svc : 1, sizeof(*run));
	if (!run || engine_open(o.sock, &e, &err) < 0) {
		log_cerr(&err);
		compose_spec_free(&spec);
		return EXIT_SYSTEM;
	}
	for (size_t i = 0; i < spec.n_svc; i++)
		run[i].s = &spec.svc[i];
	r = check_all_binds(&o, &spec, &err);
	if (r >= 0)
		r = wait_engine(e, &err);
	if (r >= 0)
		r = prepare_images(e, &o, &spec, run, &err);
	if (r < 0) {
		log_cerr(&err);
		code = r == -EBADMSG || r == -ENOENT || r == -EPERM || r == -ELOOP || r == -EXDEV ||
		               r == -EINVAL || r == -EFBIG
		           ? EXIT_REFUSED
		           : EXIT_SYSTEM;
		goto out;
	}
	r = start_all(e, &o, run, spec.n_svc, &err);
	write_state(e, &o, &spec, run, spec.n_svc);
	if (r < 0) {
		log_cerr(&err);
		code = r == -EPERM || r == -EINVAL ? EXIT_REFUSED : EXIT_SYSTEM;
		goto out;
	}
	log_info("%zu services started", spec.n_svc);
	while (!o.once) {
		struct timespec ts = {.tv_sec = o.interval};
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("signal %d: stopping the services", sig);
			stop_all(e, run, spec.n_svc);
			write_state(e, &o, &spec, run, spec.n_svc);
			break;
		}
		write_state(e, &o, &spec, run, spec.n_svc);
	}
out:
	engine_close(e);
	compose_spec_free(&spec);
	return code;
}
