/* transport.h - one connection interface for every address the project uses.
 *
 * Addresses are URIs:
 *   vsock:CID:PORT  AF_VSOCK (production). CID and PORT are decimal u32; a
 *                   listener may use the CID `any` (VMADDR_CID_ANY).
 *   vport:NAME      a virtio-serial port, the guest's /dev/virtio-ports/NAME
 *                   (hosts without vhost-vsock, and the tests). NAME is
 *                   [A-Za-z0-9._-]+. The environment variable COCOON_VPORT_DIR
 *                   replaces /dev/virtio-ports; if <dir>/NAME is a unix socket
 *                   it is connected to instead of opened, which lets tests
 *                   stand in for QEMU's chardev.
 *   unix:PATH       a unix stream socket; PATH non-empty and shorter than
 *                   sun_path (107 bytes at most). No abstract sockets.
 *   tcp:HOST:PORT   tcp (tests). HOST is an IPv4 literal, an IPv6 literal in
 *                   brackets ([::1]) or a name that getaddrinfo() resolves when
 *                   connecting or listening; PORT is 1..65535 (a listener may
 *                   use 0: the kernel picks one, see transport_listener_port()).
 *
 * Every fd returned is close-on-exec and in blocking mode; frame.c reads and
 * writes them with deadlines. Messages name the address and say what to do.
 *
 * A vport is one byte stream per VM, not a listening service. Its "listener"
 * only remembers the path: transport_accept() opens the port and waits until
 * the peer sends something, and returns that fd. Serve one connection at a
 * time and close it before accepting again (a virtio port can be open only
 * once); after an error, closing it and accepting again reopens the port.
 */
#ifndef COCOON_TRANSPORT_H
#define COCOON_TRANSPORT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cocoon/err.h"

enum taddr_kind {
	TADDR_VSOCK = 1,
	TADDR_VPORT,
	TADDR_UNIX,
	TADDR_TCP,
};

/* sizeof(((struct sockaddr_un *)0)->sun_path) on Linux */
#define TADDR_UNIX_PATH_MAX 108
#define TADDR_HOST_MAX 254
/* Longest text taddr_format() writes, NUL included. */
#define TADDR_STR_MAX 300
/* Default directory of virtio-serial ports in a guest. */
#define TRANSPORT_VPORT_DIR "/dev/virtio-ports"

/* The environment variable that replaces TRANSPORT_VPORT_DIR. */
#define TRANSPORT_VPORT_DIR_ENV "COCOON_VPORT_DIR"

struct taddr {
	enum taddr_kind kind;
	uint32_t cid;  /* vsock; VMADDR_CID_ANY (UINT32_MAX) for `any` */
	uint32_t port; /* vsock, tcp */
	int family;    /* tcp: AF_INET or AF_INET6 for a literal, AF_UNSPEC for a name */
	char host[TADDR_HOST_MAX];      /* tcp: host without brackets */
	char path[TADDR_UNIX_PATH_MAX]; /* unix: socket path; vport: port NAME */
};

/* Parses an address to connect to: strict, every malformed part is an error
 * naming the address (-EINVAL). Rejects the vsock CID `any` and tcp port 0. */
int taddr_parse(const char *uri, struct taddr *out, struct cerr *err);
/* Parses an address to listen on: as taddr_parse(), and also accepts the vsock
 * CID `any` and tcp port 0. */
int taddr_parse_listen(const char *uri, struct taddr *out, struct cerr *err);
/* Writes the address as a URI (tcp IPv6 literals in brackets). Returns the
 * length, or -ENAMETOOLONG if it did not fit in n bytes (then truncated). */
int taddr_format(const struct taddr *a, char *buf, size_t n);

/* Connects and returns the fd (close-on-exec, blocking). timeout_ms < 0 waits
 * as long as the system does; otherwise connecting gives up with -ETIMEDOUT.
 * vport: opens <dir>/NAME read-write, or connects if it is a unix socket. */
int transport_connect(const char *uri, int timeout_ms, struct cerr *err);

struct tlistener {
	int fd;                  /* listening socket; vport: the open port between accepts, or -1 */
	struct taddr addr;       /* as parsed */
	char uri[TADDR_STR_MAX]; /* for messages */
	char vport_path[PATH_MAX]; /* vport: <dir>/NAME */
	bool unlink_on_close;      /* unix: we created the socket file */
	dev_t sock_dev;            /* unix: the socket file we created */
	ino_t sock_ino;
};

/* Starts listening. unix: a stale socket at PATH (nobody accepting) is removed
 * first; a live one is -EADDRINUSE; anything that is not a socket is never
 * removed (-EEXIST). tcp: SO_REUSEADDR. vport: checks that the port exists.
 * On failure l->fd is -1 and transport_close_listener() is harmless. */
int transport_listen(const char *uri, struct tlistener *l, struct cerr *err);

/* Waits for the next connection and returns its fd (close-on-exec, blocking).
 * timeout_ms < 0 waits forever; otherwise -ETIMEDOUT when nobody came. */
int transport_accept(struct tlistener *l, int timeout_ms, struct cerr *err);

/* The port a tcp or vsock listener is bound to (useful after port 0).
 * -EINVAL for other kinds. */
int transport_listener_port(const struct tlistener *l, uint32_t *port, struct cerr *err);

/* Closes the listener and removes the unix socket file it created (only if it
 * is still the same file). Safe to call twice. */
void transport_close_listener(struct tlistener *l);

#endif
