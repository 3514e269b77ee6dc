/* authz-null - an authorization plugin that allows everything, for
 * bench/authz.py only: what dockerd's authorization middleware costs with a
 * plugin that does no work. One thread per connection, blocking reads, a
 * fixed reply in one write.
 *
 *   authz-null [...] --socket PATH [...]     (other arguments are ignored)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF_MAX (2u << 20)

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	char *buf = malloc(BUF_MAX + 1);
	size_t have = 0;

	while (buf) {
		char *end, *cl;
		size_t head, len = 0;
		ssize_t n;

		while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
			if (have == BUF_MAX || (n = read(fd, buf + have, BUF_MAX - have)) <= 0)
				goto out;
			have += (size_t)n;
			buf[have] = '\0';
		}
		head = (size_t)(end + 4 - buf);
		cl = strcasestr(buf, "\r\nContent-Length:");
		if (cl && cl < end)
			len = strtoul(cl + 17, NULL, 10);
		if (len > BUF_MAX - head)
			goto out;
		while (have < head + len) {
			if ((n = read(fd, buf + have, BUF_MAX - have)) <= 0)
				goto out;
			have += (size_t)n;
			buf[have] = '\0';
		}
		const char *body = memmem(buf, head, "/Plugin.Activate", 16)
		                       ? "{\"Implements\":[\"authz\"]}"
		                       : "{\"Allow\":true}";
		char out[256];
		int m = snprintf(out, sizeof(out),
		                 "HTTP/1.1 200 OK\r\nContent-Type: "
		                 "application/vnd.docker.plugins.v1+json\r\nContent-Length: "
		                 "%zu\r\n\r\n%s",
		                 strlen(body), body);

		if (write(fd, out, (size_t)m) != m)
			goto out;
		memmove(buf, buf + head + len, have - head - len);
		have -= head + len;
		buf[have] = '\0';
	}
out:
	free(buf);
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = NULL;
	pthread_attr_t at;
	int s;

	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--socket"))
			path = argv[i + 1];
	if (!path || strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: authz-null --socket PATH\n");
		return 2;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 64) < 0) {
		perror(path);
		return 3;
	}
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	for (;;) {
		pthread_t t;
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);

		if (c >= 0 && pthread_create(&t, &at, serve, (void *)(long)c) != 0)
			close(c);
	}
}
