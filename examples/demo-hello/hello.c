/* hello.c - the demo workload's HTTP service (make demo, make e2e).
 *
 * A static binary, alone in its image (scripts/demo-workload.py makes the
 * OCI archive). It answers:
 *   GET /              "hello from a Cocoon confidential VM, visit N": N is
 *                      counted in STATE/visits, on the service's named
 *                      volume (kept on the VM's encrypted disk across boots)
 *   GET /probe?H:P     tries a TCP connection from inside the container to
 *                      the IPv4 address H, port P (3 s) and says what
 *                      happened: the egress firewall test of make e2e
 *   GET /health        "ok"
 * Usage: hello [--listen :PORT] [--state DIR]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *state_dir;

static void reply(int c, const char *status, const char *body)
{
	dprintf(c, "HTTP/1.0 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
	        status, strlen(body), body);
}

/* the visit counter: read, add one, write a new file and rename it over */
static long next_visit(void)
{
	char path[4096], tmp[4096 + 8];
	long n = 0;
	FILE *f;

	if (!state_dir)
		return -1;
	snprintf(path, sizeof(path), "%s/visits", state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "%ld", &n) != 1)
			n = 0;
		fclose(f);
	}
	n++;
	if (!(f = fopen(tmp, "w")))
		return -1;
	fprintf(f, "%ld\n", n);
	if (fflush(f) || fsync(fileno(f)) || fclose(f) || rename(tmp, path))
		return -1;
	return n;
}

static void probe(const char *target, char *out, size_t n)
{
	char host[64];
	struct sockaddr_in a = {.sin_family = AF_INET};
	const char *colon = strrchr(target, ':');
	int s, err = 0;
	socklen_t len = sizeof(err);

	if (!colon || (size_t)(colon - target) >= sizeof(host)) {
		snprintf(out, n, "probe: expected /probe?ADDRESS:PORT\n");
		return;
	}
	memcpy(host, target, (size_t)(colon - target));
	host[colon - target] = '\0';
	a.sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		snprintf(out, n, "probe %.64s: not an IPv4 address\n", target);
		return;
	}
	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		err = errno;
	} else {
		struct pollfd p = {.fd = s, .events = POLLOUT};
		int r = poll(&p, 1, 3000);
		if (r == 0)
			err = ETIMEDOUT;
		else if (r < 0 || getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
	}
	close(s);
	if (err)
		snprintf(out, n, "probe %.64s: failed: %s\n", target, strerror(err));
	else
		snprintf(out, n, "probe %.64s: connected\n", target);
}

static void serve(int c)
{
	char req[2048], body[512];
	ssize_t got = read(c, req, sizeof(req) - 1);
	char *path, *end;

	if (got <= 0)
		return;
	req[got] = '\0';
	if (strncmp(req, "GET ", 4) || !(end = strchr(req + 4, ' '))) {
		reply(c, "400 Bad Request", "GET only\n");
		return;
	}
	*end = '\0';
	path = req + 4;
	if (!strcmp(path, "/")) {
		long v = next_visit();
		if (v < 0)
			snprintf(body, sizeof(body), "hello from a Cocoon confidential VM\n");
		else
			snprintf(body, sizeof(body),
			         "hello from a Cocoon confidential VM, visit %ld\n", v);
		reply(c, "200 OK", body);
	} else if (!strncmp(path, "/probe?", 7)) {
		probe(path + 7, body, sizeof(body));
		reply(c, "200 OK", body);
	} else if (!strcmp(path, "/health")) {
		reply(c, "200 OK", "ok\n");
	} else {
		reply(c, "404 Not Found", "not found\n");
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(8080)};
	int s, one = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
			const char *p = strrchr(argv[++i], ':');
			a.sin_port = htons((unsigned short)atoi(p ? p + 1 : argv[i]));
		} else if (!strcmp(argv[i], "--state") && i + 1 < argc) {
			state_dir = argv[++i];
		} else {
			fprintf(stderr, "usage: hello [--listen :PORT] [--state DIR]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 64) < 0) {
		perror("hello: listen");
		return 1;
	}
	printf("hello: listening on port %d, state %s\n", ntohs(a.sin_port),
	       state_dir ? state_dir : "(none)");
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		serve(c);
		close(c);
	}
}
