/* sample.c - the figures of `sys`: /proc readers and the rates.
 *
 * A sampler thread reads CPU, disk and network counters once a second into a
 * ring of 600 samples; a rate over a window is (newest - oldest in window) /
 * elapsed time, so 10 s, 1 m and 5 m come from the same samples. Two
 * mistakes of Cocoon's monitor are avoided on purpose: the window labels come
 * from the same table as the window lengths (its 1m and 5m were swapped), and
 * NVMe disks (nvme0n1) count as disks (its filter dropped them).
 *
 * Every path is under a root so that tests can hand in a fake /proc.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cocoon/util.h"
#include "health.h"

#define PROC_FILE_MAX (4u << 20)

const struct rate_window health_windows[3] = {
    {10, "10s"},
    {60, "1m"},
    {300, "5m"},
};

void sample_ring_init(struct sample_ring *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
}

void sample_ring_push(struct sample_ring *r, const struct sample *s)
{
	pthread_mutex_lock(&r->lock);
	r->s[r->head] = *s;
	r->head = (r->head + 1) % SAMPLE_RING;
	if (r->count < SAMPLE_RING)
		r->count++;
	pthread_mutex_unlock(&r->lock);
}

static double per_s(uint64_t a, uint64_t b, double secs)
{
	/* a counter that went backwards (a device gone) counts as no traffic */
	return b >= a ? (double)(b - a) / secs : 0.0;
}

void sample_ring_rates(struct sample_ring *r, int seconds, struct rates *out)
{
	const struct sample *newest, *old = NULL;
	double secs;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&r->lock);
	if (r->count < 2)
		goto done;
	newest = &r->s[(r->head + SAMPLE_RING - 1) % SAMPLE_RING];
	/* walk back to the oldest sample still inside the window */
	for (size_t k = 2; k <= r->count; k++) {
		const struct sample *s = &r->s[(r->head + SAMPLE_RING - k) % SAMPLE_RING];
		if (newest->t_ms - s->t_ms > (int64_t)seconds * 1000)
			break;
		old = s;
	}
	if (!old || newest->t_ms <= old->t_ms)
		goto done;
	secs = (double)(newest->t_ms - old->t_ms) / 1000.0;
	out->valid = true;
	out->covered_s = secs;
	if (newest->cpu_total > old->cpu_total && newest->cpu_busy >= old->cpu_busy)
		out->cpu_pct = 100.0 * (double)(newest->cpu_busy - old->cpu_busy) /
		               (double)(newest->cpu_total - old->cpu_total);
	out->disk_read_bps = per_s(old->disk_read, newest->disk_read, secs);
	out->disk_write_bps = per_s(old->disk_write, newest->disk_write, secs);
	out->net_rx_bps = per_s(old->net_rx, newest->net_rx, secs);
	out->net_tx_bps = per_s(old->net_tx, newest->net_tx, secs);
done:
	pthread_mutex_unlock(&r->lock);
}

static int read_proc(const char *root, const char *rel, char **out, struct cerr *err)
{
	char path[PATH_MAX];
	size_t len;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	return read_file_stream(path, PROC_FILE_MAX, out, &len, err);
}

bool disk_is_whole(const char *name)
{
	const char *p;
	size_t i;

	if (!strncmp(name, "nvme", 4)) {
		/* nvme<ctrl>n<ns>, not nvme<ctrl>n<ns>p<part> */
		p = name + 4;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
		if (*p++ != 'n' || !isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
		return *p == '\0';
	}
	if (!strncmp(name, "mmcblk", 6)) {
		p = name + 6;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
		return *p == '\0';
	}
	if (!strncmp(name, "xvd", 3))
		p = name + 3;
	else if (!strncmp(name, "sd", 2) || !strncmp(name, "vd", 2) || !strncmp(name, "hd", 2))
		p = name + 2;
	else
		return false;
	for (i = 0; p[i]; i++)
		if (p[i] < 'a' || p[i] > 'z')
			return false;
	return i > 0;
}

static int parse_cpu(const char *stat, struct sample *s)
{
	unsigned long long v[10] = {0};
	int n;

	if (strncmp(stat, "cpu ", 4))
		return -EBADMSG;
	n = sscanf(stat + 4, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
	           &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	if (n < 4)
		return -EBADMSG;
	/* user nice system idle iowait irq softirq steal (guest is inside user) */
	s->cpu_total = 0;
	for (int i = 0; i < n && i < 8; i++)
		s->cpu_total += v[i];
	s->cpu_busy = s->cpu_total - v[3] - (n > 4 ? v[4] : 0);
	return 0;
}

static void parse_diskstats(char *text, struct sample *s)
{
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned major, minor;
		unsigned long long rd_ios, rd_merge, rd_sec, rd_ms, wr_ios, wr_merge, wr_sec;
		char name[64];

		if (sscanf(line, "%u %u %63s %llu %llu %llu %llu %llu %llu %llu", &major, &minor,
		           name, &rd_ios, &rd_merge, &rd_sec, &rd_ms, &wr_ios, &wr_merge,
		           &wr_sec) != 10)
			continue;
		if (!disk_is_whole(name))
			continue;
		/* diskstats sectors are always 512 bytes */
		s->disk_read += rd_sec * 512;
		s->disk_write += wr_sec * 512;
	}
}

static void parse_netdev(char *text, struct sample *s)
{
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':'), *name = line;
		unsigned long long rx, tx, skip;

		if (!colon)
			continue;
		*colon = '\0';
		while (*name == ' ')
			name++;
		if (!strcmp(name, "lo"))
			continue;
		if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &rx, &skip,
		           &skip, &skip, &skip, &skip, &skip, &skip, &tx) != 9)
			continue;
		s->net_rx += rx;
		s->net_tx += tx;
	}
}

int sample_read(const char *root, struct sample *s, struct cerr *err)
{
	_cleanup_free_ char *stat = NULL, *disk = NULL, *net = NULL;
	int r;

	memset(s, 0, sizeof(*s));
	s->t_ms = now_ms();
	r = read_proc(root, "/proc/stat", &stat, err);
	if (r < 0)
		return r;
	if (parse_cpu(stat, s) < 0)
		return cerr_setx(err, EBADMSG, "%s/proc/stat: no 'cpu' line first", root);
	/* disks and network may be absent (no disks, no network): zero */
	if (read_proc(root, "/proc/diskstats", &disk, err) == 0)
		parse_diskstats(disk, s);
	if (read_proc(root, "/proc/net/dev", &net, err) == 0)
		parse_netdev(net, s);
	cerr_clear(err);
	return 0;
}

static int count_cpus(const char *stat)
{
	int n = 0;

	for (const char *p = stat; (p = strstr(p, "\ncpu")); p += 4)
		if (isdigit((unsigned char)p[4]))
			n++;
	return n;
}

static long long meminfo_kb(const char *mi, const char *key)
{
	const char *p = mi;
	size_t kl = strlen(key);
	long long v;

	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == ':' && sscanf(p + kl + 1, "%lld", &v) == 1)
			return v;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static void add_kb(json_object *o, const char *name, long long kb)
{
	json_object_object_add(o, name,
	                       kb < 0 ? json_object_new_null() : json_object_new_int64(kb * 1024));
}

int sys_static(const char *root, json_object *o, struct cerr *err)
{
	_cleanup_free_ char *up = NULL, *load = NULL, *stat = NULL, *mi = NULL;
	double uptime = 0, l1 = 0, l5 = 0, l15 = 0;
	json_object *mem, *la;
	int r;

	r = read_proc(root, "/proc/uptime", &up, err);
	if (r < 0)
		return r;
	r = read_proc(root, "/proc/loadavg", &load, err);
	if (r < 0)
		return r;
	r = read_proc(root, "/proc/stat", &stat, err);
	if (r < 0)
		return r;
	r = read_proc(root, "/proc/meminfo", &mi, err);
	if (r < 0)
		return r;
	if (sscanf(up, "%lf", &uptime) != 1 || sscanf(load, "%lf %lf %lf", &l1, &l5, &l15) != 3)
		return cerr_setx(err, EBADMSG, "%s/proc/uptime or loadavg: unexpected format",
		                 root);
	json_object_object_add(o, "uptime_s", json_object_new_double(uptime));
	la = json_object_new_object();
	json_object_object_add(la, "1m", json_object_new_double(l1));
	json_object_object_add(la, "5m", json_object_new_double(l5));
	json_object_object_add(la, "15m", json_object_new_double(l15));
	json_object_object_add(o, "load", la);
	json_object_object_add(o, "cores", json_object_new_int(count_cpus(stat)));
	mem = json_object_new_object();
	add_kb(mem, "total", meminfo_kb(mi, "MemTotal"));
	add_kb(mem, "available", meminfo_kb(mi, "MemAvailable"));
	add_kb(mem, "swap_total", meminfo_kb(mi, "SwapTotal"));
	add_kb(mem, "swap_free", meminfo_kb(mi, "SwapFree"));
	json_object_object_add(o, "memory_bytes", mem);
	return 0;
}
