/* seal-server - answers the seal protocol's getPersistentKey on the host.
 *
 *   seal-server [--listen ADDR | -p PORT] [--backend sim] [--secret-file FILE]
 *
 * Backend `sim` only (development: it protects nothing). In production
 * Cocoon's SGX seal-server answers on the same port with the same wire
 * protocol; guests do not know the difference except by the quote they get
 * back (see docs/seal.md).
 *
 * One thread, one poll() loop, non-blocking sockets: each connection has its
 * own frame buffer and deadline, so a slow, idle or hostile client costs a
 * file descriptor and at most one frame of memory, never the others' time.
 * A request that fails any check closes its connection without a reply and
 * leaves one log line; the secrets never appear in a log.
 *
 * Exit codes: 0 stopped by SIGTERM/SIGINT, 1 the secret file was refused,
 * 2 usage error, 3 system error (listening, I/O, memory).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cocoon-config.h"
#include "cocoon/buf.h"
#include "cocoon/crypto.h"
#include "cocoon/frame.h"
#include "cocoon/cli.h"
#include "cocoon/log.h"
#include "cocoon/tee.h"
#include "cocoon/tl.h"
#include "cocoon/transport.h"
#include "cocoon/util.h"

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_SYSTEM = 3 };

#define DEFAULT_LISTEN "vsock:any:12345"
#define DEFAULT_SECRET "/var/lib/cocoon/seal-sim.key"
#define SEAL_KEY_LEN 16
#define SECRET_LEN (SEAL_KEY_LEN + TEE_SIM_PLATFORM_KEY_LEN)
#define ACCEPT_BATCH 64

struct server {
	uint8_t seal_key[SEAL_KEY_LEN];
	uint8_t platform_key[TEE_SIM_PLATFORM_KEY_LEN];
	int frame_timeout_ms;
	int idle_timeout_ms;
	size_t max_conns;
	uint64_t served, refused;
};

struct conn {
	int fd;
	uint64_t id;
	uint8_t hdr[FRAME_HEADER_SIZE];
	size_t hdr_got;
	uint8_t *in; /* the payload being read, once its length is known */
	size_t in_len, in_got;
	uint8_t *out; /* a reply not yet fully sent */
	size_t out_len, out_off;
	int64_t deadline;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: seal-server [OPTIONS]\n"
	        "\n"
	        "Answers getPersistentKey (Cocoon's seal protocol) for confidential VMs.\n"
	        "\n"
	        "Options:\n"
	        "  --listen ADDR            where to listen (default " DEFAULT_LISTEN "):\n"
	        "                           vsock:any:PORT, unix:PATH (QEMU virtio-serial\n"
	        "                           chardevs connect here), tcp:HOST:PORT (tests)\n"
	        "  -p, --port PORT          listen on vsock:any:PORT (Cocoon's flag)\n"
	        "  --backend sim            the only backend of this build (development only:\n"
	        "                           protects nothing; production uses Cocoon's SGX\n"
	        "                           seal-server over the same protocol)\n"
	        "  --secret-file FILE       sim secrets: seal key (16) + sim platform key (32),\n"
	        "                           created with mode 0600 if missing\n"
	        "                           (default " DEFAULT_SECRET ")\n"
	        "  --write-platform-key FILE  write the 32-byte sim platform key for guests\n"
	        "                           (mode 0400) and go on serving\n"
	        "  --max-conns N            connections at once (default 4096)\n"
	        "  --frame-timeout MS       a started frame must arrive in time (default 10000)\n"
	        "  --idle-timeout MS        idle connections are closed after (default 300000)\n"
	        "  -q, --quiet              errors only;  -v, --verbose  debug messages\n"
	        "  -h, --help               this text;    -V, --version  print the version\n"
	        "\n"
	        "Exit status: 0 stopped by SIGTERM/SIGINT, 1 secret file refused, 2 usage\n"
	        "error, 3 system error.\n");
}

/* ---- the sim secret file ---- */

static int create_secret(const char *path, struct cerr *err)
{
	uint8_t secret[SECRET_LEN];
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *dir = strdup(path);
	char *slash;
	int r;

	if (!dir)
		return cerr_set(err, ENOMEM, "secret file '%s'", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return cerr_set(err, errno, "create directory '%s' for the secret file",
			                dir);
	}
	r = crypto_random(secret, sizeof(secret), err);
	if (r < 0)
		return r;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		secure_wipe(secret, sizeof(secret));
		return cerr_set(err, errno, "create secret file '%s'", path);
	}
	r = write_all(fd, secret, sizeof(secret));
	secure_wipe(secret, sizeof(secret));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0) {
		unlink(path);
		return cerr_set(err, -r, "write secret file '%s'", path);
	}
	log_info("created new sim secrets in '%s' (mode 0600)", path);
	return 0;
}

static int load_secret(struct server *s, const char *path, struct cerr *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	struct stat st;
	int r;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		r = create_secret(path, err);
		if (r < 0)
			return r;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return cerr_set(err, errno, "open secret file '%s'", path);
	if (fstat(fd, &st) < 0)
		return cerr_set(err, errno, "stat secret file '%s'", path);
	if (!S_ISREG(st.st_mode))
		return cerr_setx(err, EPERM, "secret file '%s' is not a regular file", path);
	if (st.st_mode & 077)
		return cerr_setx(err, EPERM,
		                 "secret file '%s' has mode %04o: group and others must have no "
		                 "access (chmod 600 '%s')",
		                 path, (unsigned)(st.st_mode & 07777), path);
	if (st.st_uid != geteuid())
		return cerr_setx(err, EPERM,
		                 "secret file '%s' belongs to uid %u, not to this user (%u)", path,
		                 (unsigned)st.st_uid, (unsigned)geteuid());
	r = read_fd(fd, SECRET_LEN + 1, path, &data, &len, err);
	if (r < 0)
		return r;
	if (len != SECRET_LEN) {
		secure_wipe(data, len);
		return cerr_setx(err, EPERM,
		                 "secret file '%s' is %zu bytes, expected %d: not a sim secret "
		                 "file (move it away to create a new one; keys sealed under it "
		                 "are then lost)",
		                 path, len, SECRET_LEN);
	}
	memcpy(s->seal_key, data, SEAL_KEY_LEN);
	memcpy(s->platform_key, data + SEAL_KEY_LEN, TEE_SIM_PLATFORM_KEY_LEN);
	secure_wipe(data, len);
	return 0;
}

/* ---- one request ---- */

static int answer(struct server *s, const uint8_t *p, size_t n, struct wbuf *reply, char *key_name,
                  struct cerr *err)
{
	uint8_t key[SHA256_LEN], shared[P256_SHARED_LEN], aes[AES128_KEY_LEN], iv[AES_IV_LEN];
	uint8_t secret_enc[SEAL_SECRET_ENC_LEN], rd[64], quote[TEE_SIM_QUOTE_LEN];
	struct p256_key *peer = NULL, *eph = NULL;
	struct seal_req req;
	struct tdreport rep;
	int r;

	r = seal_req_decode(p, n, &req, err);
	if (r < 0)
		return r;
	memcpy(key_name, req.key_name, SEAL_KEY_NAME_MAX + 1);
	r = tdreport_parse(req.report, SEAL_REPORT_LEN, &rep, err);
	if (r < 0)
		return r;
	r = tdreport_check_binding(&rep, req.pubkey, err);
	if (r < 0)
		return r;
	r = tee_sim_verify_report(s->platform_key, req.report, err);
	if (r < 0)
		return r;
	r = p256_from_public_le(req.pubkey, &peer, err);
	if (r < 0)
		return cerr_prefix(err, -EBADMSG, "client public key");
	r = p256_generate(&eph, err);
	if (r < 0)
		goto out;
	r = p256_public_le(eph, secret_enc, err);
	if (r < 0)
		goto out;
	r = p256_ecdh_le(eph, peer, shared, err);
	if (r < 0)
		goto out;
	r = seal_kdf(shared, aes, iv, err);
	if (r < 0)
		goto out;
	r = seal_derive_key(s->seal_key, rep.tee_info_hash, rep.tee_tcb_info_hash, req.key_name,
	                    key, err);
	if (r < 0)
		goto out;
	r = crypto_aes128_ctr(aes, iv, key, sizeof(key), secret_enc + SEAL_PUBKEY_LEN, err);
	if (r < 0)
		goto out;
	r = crypto_sha256(req.pubkey, SEAL_PUBKEY_LEN, rd, err);
	if (r == 0)
		r = crypto_sha256(secret_enc, sizeof(secret_enc), rd + 32, err);
	if (r == 0)
		r = tee_sim_quote_build(s->platform_key, rd, quote, err);
	if (r == 0)
		r = seal_resp_encode(reply, quote, sizeof(quote), secret_enc, err);
out:
	p256_free(peer);
	p256_free(eph);
	secure_wipe(key, sizeof(key));
	secure_wipe(shared, sizeof(shared));
	secure_wipe(aes, sizeof(aes));
	secure_wipe(iv, sizeof(iv));
	return r;
}

/* ---- connections ---- */

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->in);
	c->in = NULL;
	free(c->out);
	c->out = NULL;
}

/* Sends what is pending. 1 when all is sent, 0 when the socket is full, < 0 on error. */
static int conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t k = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (k < 0)
			return -errno;
		c->out_off += (size_t)k;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return 1;
}

/* A whole frame arrived: answer it or refuse it. false: close the connection. */
static bool conn_request(struct server *s, struct conn *c)
{
	struct cerr err = CERR_INIT;
	char key_name[SEAL_KEY_NAME_MAX + 1] = "";
	struct wbuf w;
	size_t len;
	uint8_t *body;
	int r;

	wbuf_init(&w, FRAME_MAX_DEFAULT + FRAME_HEADER_SIZE);
	wbuf_u32le(&w, 0);
	r = answer(s, c->in, c->in_len, &w, key_name, &err);
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_got = 0;
	c->hdr_got = 0;
	if (r == 0 && (r = wbuf_status(&w)) < 0)
		cerr_set(&err, -r, "encoding the reply");
	if (r < 0) {
		s->refused++;
		log_warn("connection %llu: request refused, closing: %s", (unsigned long long)c->id,
		         err.msg);
		wbuf_free(&w);
		return false;
	}
	body = wbuf_steal(&w, &len);
	len -= FRAME_HEADER_SIZE;
	body[0] = (uint8_t)len;
	body[1] = (uint8_t)(len >> 8);
	body[2] = (uint8_t)(len >> 16);
	body[3] = (uint8_t)(len >> 24);
	c->out = body;
	c->out_len = len + FRAME_HEADER_SIZE;
	c->out_off = 0;
	s->served++;
	log_debug("connection %llu: key '%s' sent", (unsigned long long)c->id, key_name);
	r = conn_flush(c);
	if (r < 0) {
		log_warn("connection %llu: sending the reply: %s", (unsigned long long)c->id,
		         strerror(-r));
		return false;
	}
	c->deadline = now_ms() + (c->out ? s->frame_timeout_ms : s->idle_timeout_ms);
	return true;
}

/* Reads what is there. false: close the connection. */
static bool conn_read(struct server *s, struct conn *c)
{
	for (;;) {
		uint8_t *dst;
		size_t want;
		ssize_t k;

		if (c->out)
			return true; /* the reply first; more requests wait in the socket */
		if (c->hdr_got < FRAME_HEADER_SIZE) {
			dst = c->hdr + c->hdr_got;
			want = FRAME_HEADER_SIZE - c->hdr_got;
		} else {
			dst = c->in + c->in_got;
			want = c->in_len - c->in_got;
		}
		k = want ? recv(c->fd, dst, want, MSG_DONTWAIT) : 0;
		if (want && k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			log_warn("connection %llu: read: %s", (unsigned long long)c->id,
			         strerror(errno));
			return false;
		}
		if (want && k == 0) {
			if (c->hdr_got == 0) {
				log_debug("connection %llu: closed by the peer",
				          (unsigned long long)c->id);
			} else {
				s->refused++;
				log_warn("connection %llu: peer closed in the middle of a frame",
				         (unsigned long long)c->id);
			}
			return false;
		}
		if (c->hdr_got == 0 && c->in_got == 0 && k > 0)
			c->deadline = now_ms() + s->frame_timeout_ms;
		if (c->hdr_got < FRAME_HEADER_SIZE) {
			c->hdr_got += (size_t)k;
			if (c->hdr_got < FRAME_HEADER_SIZE)
				continue;
			c->in_len = (size_t)c->hdr[0] | (size_t)c->hdr[1] << 8 |
			            (size_t)c->hdr[2] << 16 | (size_t)c->hdr[3] << 24;
			if (c->in_len > FRAME_MAX_DEFAULT) {
				s->refused++;
				log_warn("connection %llu: frame of %zu bytes is over the maximum "
				         "%d, closing",
				         (unsigned long long)c->id, c->in_len, FRAME_MAX_DEFAULT);
				return false;
			}
			c->in = malloc(c->in_len ? c->in_len : 1);
			if (!c->in) {
				log_error("connection %llu: out of memory",
				          (unsigned long long)c->id);
				return false;
			}
			c->in_got = 0;
		} else {
			c->in_got += (size_t)k;
		}
		if (c->in_got == c->in_len && !conn_request(s, c))
			return false;
	}
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("raising the open-file limit: %s", strerror(errno));
	}
}

static int serve(struct server *s, struct tlistener *l)
{
	struct conn *conns = calloc(s->max_conns, sizeof(*conns));
	struct pollfd *pfd = calloc(s->max_conns + 1, sizeof(*pfd));
	size_t *idx = calloc(s->max_conns + 1, sizeof(*idx));
	size_t n = 0;
	uint64_t next_id = 1;
	int64_t accept_pause_until = 0;
	int rc = 0;

	if (!conns || !pfd || !idx) {
		free(conns);
		free(pfd);
		free(idx);
		log_error("out of memory for %zu connections", s->max_conns);
		return -ENOMEM;
	}
	while (!stop_signal) {
		int64_t now = now_ms(), next = now + 60000;
		size_t np = 0;
		int timeout, k;

		/* drop the closed ones and those past their deadline */
		for (size_t i = 0; i < n;) {
			if (conns[i].fd >= 0 && conns[i].deadline <= now) {
				if (conns[i].hdr_got || conns[i].out) {
					s->refused++;
					log_warn("connection %llu: frame not complete in %d ms, "
					         "closing",
					         (unsigned long long)conns[i].id,
					         s->frame_timeout_ms);
				} else {
					log_debug("connection %llu: idle, closing",
					          (unsigned long long)conns[i].id);
				}
				conn_close(&conns[i]);
			}
			if (conns[i].fd < 0) {
				conns[i] = conns[--n];
				continue;
			}
			if (conns[i].deadline < next)
				next = conns[i].deadline;
			i++;
		}
		if (n < s->max_conns && now >= accept_pause_until) {
			pfd[np] = (struct pollfd){.fd = l->fd, .events = POLLIN};
			idx[np++] = SIZE_MAX;
		} else if (now < accept_pause_until && accept_pause_until < next) {
			next = accept_pause_until;
		}
		for (size_t i = 0; i < n; i++) {
			pfd[np] = (struct pollfd){.fd = conns[i].fd,
			                          .events = conns[i].out ? POLLOUT : POLLIN};
			idx[np++] = i;
		}
		timeout = (int)(next > now ? next - now : 0);
		k = poll(pfd, np, timeout);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = -errno;
			log_error("poll: %s", strerror(errno));
			break;
		}
		for (size_t j = 0; j < np && k > 0; j++) {
			struct conn *c;

			if (!pfd[j].revents)
				continue;
			if (idx[j] == SIZE_MAX) {
				for (int a = 0; a < ACCEPT_BATCH && n < s->max_conns; a++) {
					struct cerr err = CERR_INIT;
					int fd = transport_accept(l, 0, &err);

					if (fd < 0) {
						if (err.code == EMFILE || err.code == ENFILE ||
						    err.code == ENOMEM || err.code == ENOBUFS) {
							log_warn("%s; not accepting for 100 ms",
							         err.msg);
							accept_pause_until = now_ms() + 100;
						} else if (err.code != ETIMEDOUT) {
							log_cerr(&err);
						}
						break;
					}
					fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
					conns[n] = (struct conn){
					    .fd = fd,
					    .id = next_id++,
					    .deadline = now_ms() + s->idle_timeout_ms,
					};
					n++;
				}
				continue;
			}
			c = &conns[idx[j]];
			if (pfd[j].revents & POLLOUT) {
				int r = conn_flush(c);

				if (r < 0) {
					log_warn("connection %llu: sending the reply: %s",
					         (unsigned long long)c->id, strerror(-r));
					conn_close(c);
					continue;
				}
				if (r == 1)
					c->deadline = now_ms() + s->idle_timeout_ms;
				if (r == 1 && !conn_read(s, c))
					conn_close(c);
				continue;
			}
			if (!conn_read(s, c))
				conn_close(c);
		}
	}
	for (size_t i = 0; i < n; i++)
		conn_close(&conns[i]);
	free(conns);
	free(pfd);
	free(idx);
	return rc;
}

int main(int argc, char **argv)
{
	enum {
		OPT_LISTEN = 256,
		OPT_BACKEND,
		OPT_SECRET,
		OPT_WRITE_PK,
		OPT_MAX_CONNS,
		OPT_FRAME_TO,
		OPT_IDLE_TO
	};
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, OPT_LISTEN},
	    {"port", required_argument, NULL, 'p'},
	    {"backend", required_argument, NULL, OPT_BACKEND},
	    {"secret-file", required_argument, NULL, OPT_SECRET},
	    {"write-platform-key", required_argument, NULL, OPT_WRITE_PK},
	    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
	    {"frame-timeout", required_argument, NULL, OPT_FRAME_TO},
	    {"idle-timeout", required_argument, NULL, OPT_IDLE_TO},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	static struct server s; /* static: holds secrets, wiped before exit */
	struct tlistener l = {.fd = -1};
	struct cerr err = CERR_INIT;
	char listen_buf[64];
	const char *listen_addr = DEFAULT_LISTEN, *secret = DEFAULT_SECRET, *write_pk = NULL;
	struct sigaction sa;
	long v;
	int c, r, rc = 0;

	log_init(argv[0]);
	s.frame_timeout_ms = 10000;
	s.idle_timeout_ms = 300000;
	s.max_conns = 4096;
	while ((c = getopt_long(argc, argv, "p:qvhV", opts, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			listen_addr = optarg;
			break;
		case 'p':
			if (cli_parse_long(optarg, 1, UINT32_MAX - 1, &v) < 0) {
				log_error("bad port '%s': give a number", optarg);
				return EXIT_USAGE;
			}
			snprintf(listen_buf, sizeof(listen_buf), "vsock:any:%ld", v);
			listen_addr = listen_buf;
			break;
		case OPT_BACKEND:
			if (strcmp(optarg, "sim") != 0) {
				log_error("backend '%s' is not in this build: only 'sim' (for SGX, "
				          "run Cocoon's seal-server on the same port)",
				          optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_SECRET:
			secret = optarg;
			break;
		case OPT_WRITE_PK:
			write_pk = optarg;
			break;
		case OPT_MAX_CONNS:
			if (cli_parse_long(optarg, 1, 1 << 20, &v) < 0) {
				log_error("bad --max-conns '%s': 1..1048576", optarg);
				return EXIT_USAGE;
			}
			s.max_conns = (size_t)v;
			break;
		case OPT_FRAME_TO:
		case OPT_IDLE_TO:
			if (cli_parse_long(optarg, 1, INT_MAX / 2, &v) < 0) {
				log_error("bad timeout '%s': milliseconds, > 0", optarg);
				return EXIT_USAGE;
			}
			if (c == OPT_FRAME_TO)
				s.frame_timeout_ms = (int)v;
			else
				s.idle_timeout_ms = (int)v;
			break;
		default: {
			int done = cli_common_option(c, "seal-server", usage);

			if (done != CLI_CONTINUE)
				return done;
			break;
		}
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s' (see seal-server --help)", argv[optind]);
		return EXIT_USAGE;
	}
	if (!strncmp(listen_addr, "vport:", 6)) {
		log_error("cannot listen on '%s': a virtio-serial port is the guest's end; "
		          "listen on unix:PATH and point QEMU's chardev at it",
		          listen_addr);
		return EXIT_USAGE;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();

	r = load_secret(&s, secret, &err);
	if (r < 0) {
		log_cerr(&err);
		rc = err.code == EPERM || err.code == EINVAL ? EXIT_REFUSED : EXIT_SYSTEM;
		goto out;
	}
	if (write_pk) {
		r = write_file_atomic(write_pk, s.platform_key, sizeof(s.platform_key), 0400, &err);
		if (r < 0) {
			log_cerr(&err);
			rc = EXIT_SYSTEM;
			goto out;
		}
	}
	r = transport_listen(listen_addr, &l, &err);
	if (r < 0) {
		log_cerr(&err);
		rc = err.code == EINVAL ? EXIT_USAGE : EXIT_SYSTEM;
		goto out;
	}
	log_warn("backend sim: development only, protects nothing (any host root can "
	         "read '%s' and every key)",
	         secret);
	log_info("listening on %s (max %zu connections, frames up to %d bytes)", l.uri, s.max_conns,
	         FRAME_MAX_DEFAULT);
	r = serve(&s, &l);
	if (r < 0)
		rc = EXIT_SYSTEM;
	else
		log_info("stopping on signal %d: %llu keys sent, %llu requests refused",
		         (int)stop_signal, (unsigned long long)s.served,
		         (unsigned long long)s.refused);
out:
	transport_close_listener(&l);
	secure_wipe(&s, sizeof(s));
	return rc;
}
