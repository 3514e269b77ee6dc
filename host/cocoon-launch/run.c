/* run.c - starting and supervising the VM; see run.h.
 *
 * Order: the spec is hashed (refused specs start nothing), the run
 * directory is made and locked, the spec prepared into it, the persistent
 * image made (sparse) when missing, virtiofsd started per share and waited
 * for, seal-server checked, QEMU started. Then one poll loop over a
 * signalfd (SIGCHLD, SIGINT, SIGTERM), the QMP socket (events) and the
 * health channel (the ready answer), with two deadlines: ready_timeout and,
 * once stopping, stop_timeout. Whatever happens, the helpers are stopped and
 * the run directory (sockets, prepared spec, lock) removed before exit.
 *
 * Children run in their own process groups, so a Ctrl-C on the terminal
 * reaches only the launcher, which then powers the guest down in order.
 */
#include "run.h"
#include "answer.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cocoon/frame.h"
#include "cocoon/log.h"
#include "cocoon/spechash.h"
#include "cocoon/transport.h"
#include "cocoon/util.h"

struct child {
	const char *what;
	pid_t pid;
	bool exited;
	int status;
};

struct run {
	const struct lcfg *c;
	const struct plan *p;
	int64_t t0;
	struct child qemu;
	struct child vfsd[2];
	size_t n_vfsd;
	int sigfd, qmp, health, lockfd;
	struct qmp_stream qs; /* events and the SHUTDOWN reason (answer.c) */
	bool ready, stopping, quit_sent, run_dir_made;
	int result; /* a failure decided before QEMU ended, or -1 */
	int64_t ready_deadline, stop_deadline;
	int64_t health_asked; /* when the last `json status` was sent */
	int64_t health_next;  /* when to ask again after a not-ready answer */
	int health_pending;   /* questions on this connection not answered yet */
	bool vfsd_failed;
};

/* how long the launcher waits for the answer to one `json status` before
 * asking again on the same connection, and how many it leaves open */
#define HEALTH_ANSWER_MS 10000
#define HEALTH_MAX_PENDING 3

static int64_t since(const struct run *r)
{
	return now_ms() - r->t0;
}

static pid_t spawn(const char *const *argv, struct cerr *err)
{
	pid_t pid = fork();

	if (pid < 0)
		return cerr_set(err, errno, "fork for %s", argv[0]);
	if (pid == 0) {
		sigset_t all;
		int null = open("/dev/null", O_RDONLY);

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		setpgid(0, 0);
		if (null >= 0)
			dup2(null, 0);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "cocoon-launch: error: exec '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	return pid;
}

static void reap(struct run *r)
{
	struct child *all[3] = {&r->qemu, &r->vfsd[0], &r->vfsd[1]};
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (size_t i = 0; i < 3; i++)
			if (all[i]->pid == pid) {
				all[i]->exited = true;
				all[i]->status = status;
			}
}

static void stop_child(struct run *r, struct child *ch)
{
	if (ch->pid <= 0 || ch->exited)
		return;
	kill(ch->pid, SIGTERM);
	for (int i = 0; i < 100 && !ch->exited; i++) {
		usleep(20 * 1000);
		reap(r);
	}
	if (!ch->exited) {
		kill(-ch->pid, SIGKILL);
		waitpid(ch->pid, &ch->status, 0);
		ch->exited = true;
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* the run directory: made fresh and locked; a stale one (no live lock) is cleared */
static int make_run_dir(struct run *r, struct cerr *err)
{
	const char *dir = r->p->run_dir;
	char lock[PLAN_PATH_MAX + 8];
	char parent[PLAN_PATH_MAX];
	char *slash;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (mkdir(parent, 0755) < 0 && errno != EEXIST)
			return cerr_set(err, errno, "run_dir: making '%s'", parent);
	}
	snprintf(lock, sizeof(lock), "%s/lock", dir);
	if (mkdir(dir, 0700) < 0) {
		if (errno != EEXIST)
			return cerr_set(err, errno, "run_dir '%s'", dir);
		int fd = open(lock, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return cerr_setx(
			    err, EEXIST,
			    "run_dir '%s' exists and is not a cocoon-launch run directory "
			    "(no lock file); remove it or set run_dir",
			    dir);
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd);
			return cerr_setx(err, EBUSY,
			                 "run_dir '%s' is in use by another cocoon-launch (VM '%s' "
			                 "runs); stop it first or use another instance",
			                 dir, r->c->name);
		}
		close(fd);
		log_warn("removing the stale run directory '%s' of an earlier launch", dir);
		rm_tree(dir);
		if (mkdir(dir, 0700) < 0)
			return cerr_set(err, errno, "run_dir '%s'", dir);
	}
	r->run_dir_made = true;
	r->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (r->lockfd < 0 || flock(r->lockfd, LOCK_EX | LOCK_NB) < 0)
		return cerr_set(err, errno, "run_dir: lock '%s'", lock);
	return 0;
}

static int make_persistent(const struct lcfg *c, struct cerr *err)
{
	char sz[32];
	int fd = open(c->persistent, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return errno == EEXIST ? 0 : cerr_set(err, errno, "persistent '%s'", c->persistent);
	if (ftruncate(fd, (off_t)c->persistent_size) < 0) {
		int e = errno;
		close(fd);
		unlink(c->persistent);
		return cerr_set(err, e, "persistent '%s': making it sparse", c->persistent);
	}
	close(fd);
	lcfg_format_size(c->persistent_size, sz, sizeof(sz));
	log_info("created the persistent image '%s' (%s, sparse)", c->persistent, sz);
	return 0;
}

/* waits until path is a socket: connected (returns the fd) or, with connect false, only
 * there (returns 0; virtiofsd serves a single connection and exits when it closes, so it
 * must not be probed). Fails if ch exits first. */
static int wait_socket(struct run *r, const char *path, struct child *ch, bool do_connect,
                       int timeout_ms, struct cerr *err)
{
	int64_t end = now_ms() + timeout_ms;

	for (;;) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		struct stat st;
		int fd;

		if (!do_connect && stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		if (strlen(path) >= sizeof(sa.sun_path))
			return cerr_setx(err, ENAMETOOLONG,
			                 "socket path '%s' is longer than %zu bytes: use a shorter "
			                 "run directory",
			                 path, sizeof(sa.sun_path) - 1);
		fd = do_connect ? socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
		memcpy(sa.sun_path, path, strlen(path) + 1);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		reap(r);
		if (ch && ch->exited)
			return cerr_setx(err, ECHILD, "%s exited before its socket '%s' was ready",
			                 ch->what, path);
		if (now_ms() > end)
			return cerr_setx(err, ETIMEDOUT, "%s: socket '%s' not ready after %d ms",
			                 ch ? ch->what : "helper", path, timeout_ms);
		usleep(10 * 1000);
	}
}

static int qmp_send(struct run *r, const char *cmd)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "{\"execute\":\"%s\"}\n", cmd);

	if (r->qmp < 0)
		return -EPIPE;
	log_info("QMP: %s", cmd);
	return write_all(r->qmp, line, (size_t)n);
}

static void qmp_read(struct run *r)
{
	uint8_t buf[16384];
	ssize_t n = read(r->qmp, buf, sizeof(buf));

	if (n <= 0) {
		close(r->qmp);
		r->qmp = -1;
		return;
	}
	qmp_stream_feed(&r->qs, buf, (size_t)n);
}

static int qmp_connect(struct run *r, struct cerr *err)
{
	int fd = wait_socket(r, r->p->qmp, &r->qemu, true, 30000, err);
	char greet[4096];
	ssize_t n;

	if (fd < 0)
		return fd;
	r->qmp = fd;
	/* the greeting, then capabilities negotiation */
	n = read(fd, greet, sizeof(greet) - 1);
	if (n > 0)
		greet[n] = '\0';
	if (n <= 0 || !strstr(greet, "QMP"))
		return cerr_setx(err, EPROTO, "QMP socket '%s': no greeting", r->p->qmp);
	if (qmp_send(r, "qmp_capabilities") < 0)
		return cerr_set(err, errno, "QMP");
	return 0;
}

static void begin_stop(struct run *r, const char *why)
{
	if (r->stopping)
		return;
	log_info("%s: powering the guest down (system_powerdown; quit after %u s)", why,
	         r->c->stop_timeout);
	r->stopping = true;
	r->stop_deadline = now_ms() + (int64_t)r->c->stop_timeout * 1000;
	if (qmp_send(r, "system_powerdown") < 0)
		kill(r->qemu.pid, SIGTERM);
}

static void force_quit(struct run *r)
{
	if (r->quit_sent)
		return;
	r->quit_sent = true;
	if (qmp_send(r, "quit") < 0)
		kill(r->qemu.pid, SIGTERM);
	r->stop_deadline = now_ms() + 10000; /* then SIGKILL */
}

/* The health channel is one byte stream shared by every host peer in turn
 * (QEMU's chardev takes one connection at a time), and the protocol has no
 * request ids: an answer to a question the guest got from an earlier peer
 * (health-client's text `status`, say) can arrive on our connection. So the
 * launcher keeps one connection, asks again on it rather than reconnecting
 * (a reconnect would hand our unanswered questions' answers to the next
 * peer), ignores an answer that is not the JSON it asked for, and after
 * "ready" keeps the connection until its own questions are answered.
 *
 * The answer to `json status`: {"ready":true,...} means up. {"ready":false}
 * with an "error", or a boot state cocoon-init marked "failed...", is a guest
 * failure; any other not-ready answer means "still booting": ask again.
 * The answer is the guest's bytes: health_answer_parse() (answer.c) reads
 * them, and only their escaped excerpt reaches the log. */
static void health_close(struct run *r)
{
	if (r->health >= 0)
		close(r->health);
	r->health = -1;
	r->health_pending = 0;
}

static void health_read(struct run *r)
{
	_cleanup_free_ uint8_t *msg = NULL;
	struct cerr err = CERR_INIT;
	char text[160];
	size_t len = 0;

	if (frame_read(r->health, 1 << 20, 5000, &msg, &len, &err) < 0) {
		health_close(r);
		return;
	}
	if (r->health_pending > 0)
		r->health_pending--;
	if (r->ready)
		return; /* an answer to an earlier question, drained */
	answer_excerpt(msg, len, text, sizeof(text));
	switch (health_answer_parse(msg, len)) {
	case HEALTH_ANSWER_NOT_OURS:
		log_debug("ignored an answer on the health channel that is not ours (another "
		          "peer's question): %s",
		          text);
		break;
	case HEALTH_ANSWER_READY:
		r->ready = true;
		log_info("guest ready %lld ms after QEMU started: %s", (long long)since(r), text);
		break; /* the connection goes once our questions are answered */
	case HEALTH_ANSWER_FAILED:
		log_error("the guest reports it is not ready: %s", text);
		r->result = EXIT_GUEST;
		begin_stop(r, "guest failure");
		break;
	case HEALTH_ANSWER_BOOTING:
		log_debug("guest not ready yet: %s", text);
		r->health_next = now_ms() + 500;
		break;
	}
}

static void health_connect(struct run *r)
{
	struct cerr err = CERR_INIT;

	char uri[PLAN_PATH_MAX + 8];

	if (r->c->transport == LCFG_TRANSPORT_VPORT)
		snprintf(uri, sizeof(uri), "unix:%s", r->p->health);
	else
		snprintf(uri, sizeof(uri), "vsock:%u:9999", r->c->cid);
	r->health = transport_connect(uri, 1000, &err);
	r->health_pending = 0;
	r->health_next = 0;
}

static void health_ask(struct run *r)
{
	struct cerr err = CERR_INIT;

	if (frame_write(r->health, "json status", 11, 5000, &err) < 0) {
		health_close(r);
		return;
	}
	r->health_pending++;
	r->health_asked = now_ms();
}

/* one step of the health conversation, each round of the supervision loop */
static void health_step(struct run *r, int64_t now, int64_t *last_connect)
{
	if (r->ready) {
		/* let health-client in once our questions are answered (or given up on) */
		if (r->health >= 0 &&
		    (r->health_pending == 0 || now - r->health_asked >= HEALTH_ANSWER_MS))
			health_close(r);
		return;
	}
	if (r->stopping)
		return;
	if (r->health < 0) {
		if (now - *last_connect < 500)
			return;
		*last_connect = now;
		health_connect(r);
		if (r->health < 0)
			return;
	}
	/* a first question, a question after a not-ready answer, or the same
	 * question again when the guest has not answered in time (health-monitor
	 * not there yet, or restarting, when it was asked) */
	if ((r->health_pending == 0 && now >= r->health_next) ||
	    (r->health_pending > 0 && r->health_pending < HEALTH_MAX_PENDING &&
	     now - r->health_asked >= HEALTH_ANSWER_MS)) {
		if (r->health_pending > 0)
			log_debug("no answer on the health channel within %d ms: asking again",
			          HEALTH_ANSWER_MS);
		health_ask(r);
	}
}

static int supervise(struct run *r)
{
	int64_t last_health_try = 0;

	r->ready_deadline = now_ms() + (int64_t)r->c->ready_timeout * 1000;
	for (;;) {
		struct pollfd pfd[3] = {
		    {r->sigfd, POLLIN, 0}, {r->qmp, POLLIN, 0}, {r->health, POLLIN, 0}};
		int64_t now = now_ms(), next = now + 1000;

		reap(r);
		if (r->qemu.exited)
			break;
		for (size_t i = 0; i < r->n_vfsd; i++)
			/* virtiofsd ends by itself (status 0) when QEMU closes its connection
			 * at shutdown; anything else while the guest runs is a failure */
			if (r->vfsd[i].exited && !r->stopping &&
			    !(WIFEXITED(r->vfsd[i].status) &&
			      WEXITSTATUS(r->vfsd[i].status) == 0) &&
			    !r->vfsd_failed) {
				r->vfsd_failed = true;
				log_error("%s stopped while the guest runs", r->vfsd[i].what);
				r->result = EXIT_SYSTEM;
				begin_stop(r, "helper failure");
			}
		if (!r->ready && !r->stopping && now >= r->ready_deadline) {
			log_error("the guest did not report ready within %u s (ready_timeout)",
			          r->c->ready_timeout);
			r->result = EXIT_GUEST;
			begin_stop(r, "guest failure");
		}
		if (r->stopping && now >= r->stop_deadline) {
			if (!r->quit_sent) {
				log_error("the guest did not power down within %u s: quitting QEMU",
				          r->c->stop_timeout);
				force_quit(r);
			} else {
				log_error("QEMU did not quit: killing it");
				kill(-r->qemu.pid, SIGKILL);
				r->stop_deadline = now + 60000;
			}
		}
		health_step(r, now, &last_health_try);
		if (r->stopping && r->stop_deadline < next)
			next = r->stop_deadline;
		if (poll(pfd, 3, (int)(next > now ? next - now : 0)) < 0 && errno != EINTR)
			return -errno;
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
			    si.ssi_signo != SIGCHLD) {
				if (r->stopping)
					force_quit(r);
				else
					begin_stop(r,
					           si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
			}
		}
		if (r->qmp >= 0 && (pfd[1].revents & (POLLIN | POLLHUP)))
			qmp_read(r);
		if (r->health >= 0 && (pfd[2].revents & (POLLIN | POLLHUP)))
			health_read(r);
	}
	/* QEMU is gone: read the last events */
	while (r->qmp >= 0)
		qmp_read(r);
	return 0;
}

static int outcome(struct run *r)
{
	int st = r->qemu.status;

	if (WIFSIGNALED(st)) {
		log_error("QEMU was killed by signal %d (%s)", WTERMSIG(st),
		          strsignal(WTERMSIG(st)));
		return EXIT_QEMU;
	}
	if (WEXITSTATUS(st) != 0) {
		log_error("QEMU exited with status %d", WEXITSTATUS(st));
		return EXIT_QEMU;
	}
	if (r->result >= 0)
		return r->result;
	if (!strcmp(r->qs.shutdown_reason, "guest-shutdown")) {
		log_info("the guest powered off%s", r->stopping ? " after the power button" : "");
		return EXIT_CLEAN;
	}
	if (!strcmp(r->qs.shutdown_reason, "host-qmp-quit") || r->quit_sent) {
		log_error("the guest did not power down: QEMU was quit");
		return EXIT_GUEST;
	}
	if (r->qs.shutdown_reason[0]) {
		log_error("the guest stopped: %s", r->qs.shutdown_reason);
		return EXIT_GUEST;
	}
	log_error("QEMU exited without a shutdown event");
	return EXIT_QEMU;
}

static void cleanup(struct run *r)
{
	for (size_t i = 0; i < r->n_vfsd; i++)
		stop_child(r, &r->vfsd[i]);
	stop_child(r, &r->qemu);
	if (r->qmp >= 0)
		close(r->qmp);
	if (r->health >= 0)
		close(r->health);
	if (r->run_dir_made)
		rm_tree(r->p->run_dir);
	if (r->lockfd >= 0)
		close(r->lockfd);
	if (r->sigfd >= 0)
		close(r->sigfd);
}

int launch_run(const struct lcfg *c, const struct plan *p)
{
	struct run r = {
	    .c = c, .p = p, .sigfd = -1, .qmp = -1, .health = -1, .lockfd = -1, .result = -1};
	struct cerr err = CERR_INIT;
	char hex[SPEC_HASH_HEX_LEN + 1];
	sigset_t mask;
	int code = EXIT_SYSTEM;

	r.t0 = now_ms();
	/* a spec that cannot be hashed starts nothing */
	if (spec_hash_dir(c->spec, hex, NULL, NULL, &err) < 0) {
		cerr_prefix(&err, -EINVAL, "key 'spec'");
		log_cerr(&err);
		return err.code == EINVAL ? EXIT_REFUSED : EXIT_SYSTEM;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	r.sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (r.sigfd < 0) {
		cerr_set(&err, errno, "signalfd");
		goto fail;
	}
	if (make_run_dir(&r, &err) < 0)
		goto fail;
	if (spec_prepare(c->spec, p->spec_dir, hex, NULL, &err) < 0)
		goto fail;
	log_info("spec '%s' prepared: spec.tree %s", c->spec, hex);
	if (make_persistent(c, &err) < 0)
		goto fail;

	for (size_t i = 0; i < p->n_shares; i++) {
		const struct plan_share *s = &p->shares[i];
		struct child *ch = &r.vfsd[r.n_vfsd];
		if (!s->virtiofsd.n)
			continue;
		ch->what = s->readonly ? "virtiofsd (spec)" : "virtiofsd (data)";
		if ((ch->pid = spawn((const char *const *)s->virtiofsd.v, &err)) < 0)
			goto fail;
		r.n_vfsd++;
		if (wait_socket(&r, s->sock, ch, false, 10000, &err) < 0)
			goto fail;
		log_info("%s serves '%s'", ch->what, s->dir);
	}
	if (strcmp(c->seal, "none")) {
		int fd = transport_connect(c->seal, 2000, &err);

		if (fd < 0) {
			cerr_prefix(
			    &err, fd,
			    "seal-server does not answer at %s (start seal-server, or set seal "
			    "= none for a VM that needs no sealed keys)",
			    c->seal);
			goto fail;
		}
		close(fd);
		log_info("seal-server answers at %s", c->seal);
	}

	r.qemu.what = "QEMU";
	log_info("starting QEMU %lld ms after the launcher started", (long long)since(&r));
	r.t0 = now_ms();
	if ((r.qemu.pid = spawn((const char *const *)p->qemu.v, &err)) < 0)
		goto fail;
	if (qmp_connect(&r, &err) < 0) {
		reap(&r);
		if (r.qemu.exited) {
			log_cerr(&err);
			code = outcome(&r);
			cleanup(&r);
			return code == EXIT_CLEAN ? EXIT_QEMU : code;
		}
		goto fail;
	}
	if (supervise(&r) < 0) {
		cerr_set(&err, errno, "supervising");
		goto fail;
	}
	code = outcome(&r);
	cleanup(&r);
	return code;

fail:
	log_cerr(&err);
	cleanup(&r);
	return code;
}
