/* answer.h - the bytes cocoon-launch reads from the other side: the guest's
 * answer to `json status` on the health channel and QEMU's QMP stream (which
 * carries what the guest made QEMU say). Both are untrusted: any bytes give
 * one of the outcomes below, never a crash, and nothing from them reaches the
 * log unescaped. Kept apart from run.c so that the unit test
 * (tests/unit/test_launch_answer.c) and the fuzz target
 * (tests/fuzz/fuzz_launch.c) call the same code. */
#ifndef COCOON_LAUNCH_ANSWER_H
#define COCOON_LAUNCH_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum health_answer {
	HEALTH_ANSWER_NOT_OURS, /* not a JSON object with a boolean "ready": another peer's */
	HEALTH_ANSWER_READY,    /* {"ready":true,...} */
	HEALTH_ANSWER_BOOTING,  /* not ready, no error: ask again */
	HEALTH_ANSWER_FAILED,   /* not ready with an "error", or a "boot" state "failed..." */
};

/* Classifies one answer frame of n bytes. A NUL byte, trailing bytes after
 * the JSON value, a "ready" that is not true or false, are not our answer. */
enum health_answer health_answer_parse(const uint8_t *p, size_t n);

/* Writes at most out_len - 1 characters of p[0..n) to out, NUL-terminated:
 * printable ASCII as it is, every other byte as \xNN, "..." when cut. */
void answer_excerpt(const uint8_t *p, size_t n, char *out, size_t out_len);

/* The QMP stream, fed as it is read: complete lines are parsed, a line over
 * QMP_LINE_MAX bytes is dropped to its end. */
#define QMP_LINE_MAX 65535
struct qmp_stream {
	char line[QMP_LINE_MAX + 1];
	size_t len;
	bool overlong;            /* inside a line that was too long: skip to its '\n' */
	char shutdown_reason[64]; /* data.reason of the last SHUTDOWN event, or "" */
	unsigned events;          /* events seen (any name) */
};

void qmp_stream_init(struct qmp_stream *q);

/* Feeds n bytes read from the QMP socket. */
void qmp_stream_feed(struct qmp_stream *q, const uint8_t *p, size_t n);

/* One QMP line of n bytes (no '\n'): an event {"event":"NAME",...} is counted
 * and a SHUTDOWN's string data.reason kept; a line that is not an object with
 * a string "event" (a command's return, junk) changes nothing. */
void qmp_stream_line(struct qmp_stream *q, const char *p, size_t n);

#endif
