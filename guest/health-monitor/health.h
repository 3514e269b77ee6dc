/* health.h - the parts of health-monitor, shared between its files and its
 * unit test (tests/unit/test_health.c).
 *
 *   request.c  the untrusted request: size, characters, words, allowlist
 *   sample.c   /proc readers (under a root, for fake trees) and the ring of
 *              1-second samples the rates come from
 *   report.c   one json-c object per command, and the text rendering
 *   gpu.c      NVML, loaded with dlopen() when asked
 *   main.c     options, the listener, one thread per connection
 *
 * Wire format (docs/health.md): a request is one frame of ASCII words joined
 * by spaces; a first word `json` asks for the JSON form. The reply is one
 * frame of text; an error is always {"error":"<msg>"}. `attest NONCE` is the
 * one command that hands out evidence: a fresh quote over
 * tee_attest_report_data(NONCE), the event log and the RTMRs.
 */
#ifndef HEALTH_MONITOR_H
#define HEALTH_MONITOR_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "cocoon/err.h"
#include "cocoon/tee.h"

#define HEALTH_REQUEST_MAX 4096
#define HEALTH_REPLY_MAX (20u << 20)
#define HEALTH_MAX_WORDS 4
#define HEALTH_WORD_MAX 64
#define HEALTH_LOGS_DEFAULT 100
#define HEALTH_LOGS_MAX 1000000
#define HEALTH_MAX_SERVICES 32
#define HEALTH_DEFAULT_SERVICES                                                       \
	"cocoon-init,health-monitor,cocoon-workload,cocoon-authz,seal-client,docker," \
	"containerd,podman"

/* ---- request.c ---- */

enum health_cmd {
	HCMD_STATUS = 1,
	HCMD_SYS,
	HCMD_SVC,
	HCMD_LOGS,
	HCMD_TDX,
	HCMD_EVENTLOG,
	HCMD_GPU,
	HCMD_ALL,
	HCMD_CONTAINERS,
	HCMD_ATTEST,
};

struct health_request {
	enum health_cmd cmd;
	bool json;
	char svc[HEALTH_WORD_MAX + 1];       /* "" when none */
	unsigned long lines;                 /* logs */
	uint8_t nonce[TEE_ATTEST_NONCE_MAX]; /* attest */
	size_t nonce_len;
};

struct health_services {
	size_t n;
	char name[HEALTH_MAX_SERVICES][HEALTH_WORD_MAX + 1];
};

/* Parses a comma-separated allowlist ([A-Za-z0-9_.@-], 1..64 each). */
int health_services_parse(const char *list, struct health_services *out, struct cerr *err);
bool health_services_has(const struct health_services *s, const char *name);

/* Parses the n request bytes at p (not NUL-terminated; may contain anything).
 * -EINVAL with a message fit for the {"error":...} reply. */
int health_request_parse(const uint8_t *p, size_t n, const struct health_services *allow,
                         struct health_request *out, struct cerr *err);
const char *health_cmd_name(enum health_cmd cmd);

/* ---- sample.c ---- */

#define SAMPLE_RING 600

struct sample {
	int64_t t_ms;                   /* monotonic */
	uint64_t cpu_busy, cpu_total;   /* jiffies, all CPUs */
	uint64_t disk_read, disk_write; /* bytes, whole disks only */
	uint64_t net_rx, net_tx;        /* bytes, every interface but lo */
};

struct sample_ring {
	pthread_mutex_t lock;
	struct sample s[SAMPLE_RING];
	size_t head; /* next slot */
	size_t count;
};

/* A rate window; the label is made from the seconds, never written apart. */
struct rate_window {
	int seconds;
	const char *label;
};
extern const struct rate_window health_windows[3]; /* 10 s, 1 m, 5 m */

struct rates {
	bool valid;       /* at least two samples */
	double covered_s; /* the span actually used (less than the window early on) */
	double cpu_pct;
	double disk_read_bps, disk_write_bps, net_rx_bps, net_tx_bps;
};

void sample_ring_init(struct sample_ring *r);
void sample_ring_push(struct sample_ring *r, const struct sample *s);
/* Rates over the last `seconds` from the newest sample back to the oldest
 * sample no older than that. */
void sample_ring_rates(struct sample_ring *r, int seconds, struct rates *out);

/* Reads one sample from <root>/proc (root "" = the real /proc). */
int sample_read(const char *root, struct sample *s, struct cerr *err);
/* Whether a /proc/diskstats device name is a whole disk we count
 * (sd*, vd*, xvd*, hd*, nvme*n*, mmcblk*; not partitions, loop, dm, ram). */
bool disk_is_whole(const char *name);

/* The static part of `sys`: uptime, load, cores, memory. */
int sys_static(const char *root, json_object *o, struct cerr *err);

/* ---- gpu.c ---- */

/* NVML figures of every GPU, or {"available": false, "reason": ...}. */
json_object *gpu_report(const char *nvml_lib);

/* ---- report.c ---- */

struct health_ctx {
	char root[PATH_MAX];       /* "" or a fake tree for /proc and /sys */
	char log_dir[PATH_MAX];    /* <svc>.log files */
	char state_file[PATH_MAX]; /* cocoon-init's boot state */
	char workload_state[PATH_MAX];
	char event_log[PATH_MAX];
	char systemctl[PATH_MAX]; /* "" when none: service states unknown */
	char journalctl[PATH_MAX];
	char nvml_lib[PATH_MAX];
	enum tee_kind tee;
	char sim_rtmr[PATH_MAX];
	char sim_key[PATH_MAX]; /* sim platform key, read per `attest` */
	char tdx_device[PATH_MAX];
	struct health_services services;
	struct sample_ring ring;
	pthread_mutex_t gpu_lock;
};

/* The reply to a parsed request: text or JSON, malloc'ed, NUL-terminated. */
int health_answer(struct health_ctx *c, const struct health_request *req, char **out, size_t *len,
                  struct cerr *err);
/* {"error":"<msg>"} */
char *health_error_reply(const char *msg, size_t *len);
/* Text rendering of a report object: "key: value" lines, nested objects
 * indented, arrays of objects as "- " items. */
char *health_render_text(json_object *o);

json_object *report_sys(struct health_ctx *c);
json_object *report_containers(struct health_ctx *c);

#endif
