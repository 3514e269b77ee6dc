/* luks.c - the persistent disk: read-only probe, format only when blank, open
 * with the sealed key; see cocoon/luks.h for the rules and why they are so.
 *
 * libcryptsetup does the LUKS2 work; libblkid (the library behind blkid(8)
 * and wipefs(8)) recognises every filesystem, RAID, LUKS and partition-table
 * signature it knows. We add the zero check because blkid only knows
 * signatures: a disk whose first MiB holds data of no known format is still
 * somebody's data.
 */
#include "cocoon/luks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <blkid/blkid.h>
#include <libcryptsetup.h>

#include "cocoon/crypto.h"
#include "cocoon/log.h"
#include "cocoon/util.h"

static void crypt_freep(struct crypt_device **cd)
{
	if (*cd)
		crypt_free(*cd);
}
#define _cleanup_crypt_ __attribute__((cleanup(crypt_freep)))

static void blkid_freep(blkid_probe *pr)
{
	if (*pr)
		blkid_free_probe(*pr);
}
#define _cleanup_blkid_ __attribute__((cleanup(blkid_freep)))

/* libcryptsetup's own messages are details under ours: debug level. */
static void on_crypt_log(int level, const char *msg, void *ctx)
{
	size_t n = strlen(msg);

	(void)ctx;
	while (n && msg[n - 1] == '\n')
		n--;
	log_debug("libcryptsetup%s: %.*s", level == CRYPT_LOG_ERROR ? " (error)" : "", (int)n, msg);
}

static void crypt_log_once(void)
{
	static bool done;

	if (!done) {
		crypt_set_log_callback(NULL, on_crypt_log, NULL);
		done = true;
	}
}

const char *luks_kind_name(enum luks_kind kind)
{
	switch (kind) {
	case LUKS_KIND_BLANK:
		return "blank";
	case LUKS_KIND_LUKS2:
		return "luks2";
	case LUKS_KIND_LUKS1:
		return "luks1";
	case LUKS_KIND_OTHER:
		return "other";
	}
	return "unknown";
}

int luks_name_check(const char *name, struct cerr *err)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 64 || !strcmp(name, ".") || !strcmp(name, ".."))
		return cerr_setx(err, EINVAL,
		                 "bad device-mapper name '%s': 1..64 of [A-Za-z0-9_.-]",
		                 name ? name : "");
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return cerr_setx(err, EINVAL,
			                 "bad device-mapper name '%s': 1..64 of [A-Za-z0-9_.-]",
			                 name);
	}
	return 0;
}

/* Offset of the first non-zero byte of [off, off + n), or -1. */
static int first_nonzero(int fd, const char *device, uint64_t off, size_t n, int64_t *where,
                         struct cerr *err)
{
	_cleanup_free_ uint8_t *buf = malloc(n ? n : 1);
	size_t got;
	int r;

	*where = -1;
	if (!buf)
		return cerr_set(err, ENOMEM, "probe '%s'", device);
	r = pread_all(fd, buf, n, off, &got);
	if (r < 0)
		return cerr_set(err, -r, "read '%s' at offset %llu", device,
		                (unsigned long long)(off + got));
	if (got < n)
		return cerr_setx(err, EIO, "read '%s': unexpected end at offset %llu", device,
		                 (unsigned long long)(off + got));
	for (size_t i = 0; i < n; i++) {
		if (buf[i]) {
			*where = (int64_t)(off + i);
			break;
		}
	}
	return 0;
}

/* libblkid's safe probe: superblocks (filesystems, LUKS, RAID, swap, ...)
 * and partition tables. Fills out->kind/detail when something is found. */
static int blkid_look(const char *device, struct luks_probe *out, bool *found, struct cerr *err)
{
	_cleanup_blkid_ blkid_probe pr = NULL;
	const char *type = NULL, *version = NULL, *pttype = NULL;
	int r;

	*found = false;
	pr = blkid_new_probe_from_filename(device);
	if (!pr)
		return cerr_set(err, errno ? errno : EIO, "libblkid: open '%s' read-only", device);
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_VERSION |
	                                          BLKID_SUBLKS_BADCSUM);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
	r = blkid_do_safeprobe(pr);
	if (r == 1)
		return 0;
	*found = true;
	out->kind = LUKS_KIND_OTHER;
	if (r == -2) {
		snprintf(out->detail, sizeof(out->detail),
		         "several signatures (libblkid: ambiguous probe)");
		return 0;
	}
	if (r < 0)
		return cerr_setx(err, EIO, "libblkid could not probe '%s'", device);
	blkid_probe_lookup_value(pr, "TYPE", &type, NULL);
	blkid_probe_lookup_value(pr, "VERSION", &version, NULL);
	blkid_probe_lookup_value(pr, "PTTYPE", &pttype, NULL);
	if (type && !strcmp(type, "crypto_LUKS") && version && !strcmp(version, "2"))
		out->kind = LUKS_KIND_LUKS2;
	else if (type && !strcmp(type, "crypto_LUKS") && version && !strcmp(version, "1"))
		out->kind = LUKS_KIND_LUKS1;
	if (type)
		snprintf(out->detail, sizeof(out->detail), "%s%s%s signature", type,
		         version ? " version " : "", version ? version : "");
	else if (pttype)
		snprintf(out->detail, sizeof(out->detail), "%s partition table", pttype);
	else
		snprintf(out->detail, sizeof(out->detail), "an unnamed signature");
	return 0;
}

int luks_probe(const char *device, struct luks_probe *out, struct cerr *err)
{
	_cleanup_close_ int fd = -1;
	uint64_t head, tail;
	int64_t where = -1;
	bool found;
	int r;

	memset(out, 0, sizeof(*out));
	fd = open(device, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return cerr_set(err, errno, "open '%s' read-only", device);
	r = fd_size(fd, device, &out->size, err);
	if (r < 0)
		return r;
	r = blkid_look(device, out, &found, err);
	if (r < 0 || found)
		return r;

	head = out->size < LUKS_BLANK_CHECK_LEN ? out->size : LUKS_BLANK_CHECK_LEN;
	r = first_nonzero(fd, device, 0, (size_t)head, &where, err);
	if (r < 0)
		return r;
	if (where < 0 && out->size > head) {
		tail = out->size - head < LUKS_BLANK_CHECK_LEN ? out->size - head
		                                               : LUKS_BLANK_CHECK_LEN;
		r = first_nonzero(fd, device, out->size - tail, (size_t)tail, &where, err);
		if (r < 0)
			return r;
	}
	if (where >= 0) {
		out->kind = LUKS_KIND_OTHER;
		snprintf(out->detail, sizeof(out->detail),
		         "no known signature, but a non-zero byte at offset %lld",
		         (long long)where);
		return 0;
	}
	out->kind = LUKS_KIND_BLANK;
	snprintf(out->detail, sizeof(out->detail), "no signature; first and last MiB zero");
	return 0;
}

static void pbkdf_for_random_key(struct crypt_pbkdf_type *p)
{
	memset(p, 0, sizeof(*p));
	p->type = CRYPT_KDF_PBKDF2;
	p->hash = "sha256";
	p->iterations = LUKS_PBKDF2_ITERATIONS;
	p->flags = CRYPT_PBKDF_NO_BENCHMARK;
}

static int format_blank(const char *device, const uint8_t *key, struct cerr *err)
{
	_cleanup_crypt_ struct crypt_device *cd = NULL;
	struct crypt_pbkdf_type pbkdf;
	struct crypt_params_luks2 params = {.label = LUKS_LABEL};
	int r;

	pbkdf_for_random_key(&pbkdf);
	params.pbkdf = &pbkdf;
	r = crypt_init(&cd, device);
	if (r < 0)
		return cerr_set(err, -r, "libcryptsetup: open '%s'", device);
	r = crypt_set_pbkdf_type(cd, &pbkdf);
	if (r < 0)
		return cerr_set(err, -r, "libcryptsetup: set PBKDF2 for '%s'", device);
	/* volume key: 64 random bytes from libcryptsetup's RNG (AES-256-XTS) */
	r = crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, 64, &params);
	if (r < 0)
		return cerr_set(err, -r, "format blank disk '%s' as LUKS2", device);
	r = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, NULL, 0, (const char *)key,
	                                    LUKS_KEY_LEN);
	if (r < 0)
		return cerr_set(err, -r, "add the key to the new LUKS2 header of '%s'", device);
	log_info("formatted blank disk '%s' as LUKS2 (aes-xts-plain64, keyslot %d)", device, r);
	return 0;
}

/* What a host could plant in a header it wrote itself: a null data cipher
 * (plaintext on disk), or a keyslot stored with cipher_null, which "decrypts"
 * to the host's volume key under any passphrase. Neither is ever opened. */
static int check_header(struct crypt_device *cd, const char *device, struct cerr *err)
{
	const char *cipher = crypt_get_cipher(cd), *mode = crypt_get_cipher_mode(cd);
	uint32_t reqs = 0;
	int max = crypt_keyslot_max(CRYPT_LUKS2);

	if (!cipher || !mode || strcmp(cipher, "aes") || strcmp(mode, "xts-plain64") ||
	    crypt_get_volume_key_size(cd) != 64)
		return cerr_setx(err, EBADMSG,
		                 "LUKS2 disk '%s' uses cipher %s-%s with a %d-byte key, not "
		                 "aes-xts-plain64 with 64: not a disk this VM made; left untouched",
		                 device, cipher ? cipher : "?", mode ? mode : "?",
		                 crypt_get_volume_key_size(cd));
	if (crypt_persistent_flags_get(cd, CRYPT_FLAGS_REQUIREMENTS, &reqs) == 0 && reqs)
		return cerr_setx(err, EBADMSG,
		                 "LUKS2 disk '%s' has requirement flags 0x%x (e.g. a reencryption "
		                 "in progress): not a disk this VM made; left untouched",
		                 device, reqs);
	for (int i = 0; i < max; i++) {
		crypt_keyslot_info ki = crypt_keyslot_status(cd, i);
		const char *enc;
		size_t ks = 0;

		if (ki != CRYPT_SLOT_ACTIVE && ki != CRYPT_SLOT_ACTIVE_LAST)
			continue;
		enc = crypt_keyslot_get_encryption(cd, i, &ks);
		if (!enc || strstr(enc, "null"))
			return cerr_setx(err, EBADMSG,
			                 "LUKS2 disk '%s': keyslot %d is stored with cipher '%s', "
			                 "which any key would open; left untouched",
			                 device, i, enc ? enc : "?");
	}
	return 0;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* One LUKS2 header area (binary header + JSON, hdr_size bytes) read at off:
 * its magic, version 2, the hdr_size given, and its SHA-256 checksum over
 * the area with the checksum field zeroed (LUKS2 on-disk format). */
static const char *luks2_area_problem(const uint8_t *a, size_t hdr_size, const char *magic)
{
	uint8_t copy[64], sum[SHA256_LEN];
	uint8_t *area = (uint8_t *)a;
	struct cerr ignored = CERR_INIT;
	bool ok;

	if (memcmp(a, magic, 6) || a[6] != 0 || a[7] != 2)
		return "no LUKS2 magic and version";
	if (be64(a + 8) != hdr_size)
		return "a header size that differs from the other copy's";
	if (strncmp((const char *)a + 72, "sha256", 32))
		return "a checksum algorithm other than sha256";
	memcpy(copy, a + 448, 64);
	memset(area + 448, 0, 64);
	ok = crypto_sha256(area, hdr_size, sum, &ignored) == 0 && !memcmp(copy, sum, SHA256_LEN);
	memcpy(area + 448, copy, 64);
	return ok ? NULL : "a checksum that does not verify";
}

/* libcryptsetup, finding one copy of a LUKS2 header damaged, rewrites it
 * from the other when it loads the header: an edit by the host would make
 * the guest write to its disk before any key was tried. Both copies must be
 * intact and the same (seqid, JSON area) before libcryptsetup sees them. */
static int header_copies_agree(const char *device, struct cerr *err)
{
	static const uint64_t sizes[] = {16384,  32768,   65536,   131072, 262144,
	                                 524288, 1048576, 2097152, 4194304};
	_cleanup_close_ int fd = open(device, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ uint8_t *p = NULL, *q = NULL;
	uint8_t bin[4096];
	const char *why = NULL, *which = "";
	bool allowed = false;
	uint64_t hs = 0;
	size_t got = 0;
	int r;

	if (fd < 0)
		return cerr_set(err, errno, "open '%s' read-only", device);
	r = pread_all(fd, bin, sizeof(bin), 0, &got);
	if (r < 0 || got != sizeof(bin))
		return cerr_set(err, r < 0 ? -r : EIO, "reading the LUKS2 header of '%s'", device);
	hs = be64(bin + 8);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		allowed |= sizes[i] == hs;
	if (!allowed)
		return cerr_setx(err, EBADMSG,
		                 "LUKS2 disk '%s': header size %llu is not one LUKS2 allows; "
		                 "left untouched",
		                 device, (unsigned long long)hs);
	p = malloc(hs);
	q = malloc(hs);
	if (!p || !q)
		return cerr_set(err, ENOMEM, "LUKS2 header of '%s'", device);
	if ((r = pread_all(fd, p, hs, 0, &got)) < 0 || got != hs ||
	    (r = pread_all(fd, q, hs, hs, &got)) < 0 || got != hs)
		return cerr_set(err, r < 0 ? -r : EIO, "reading the LUKS2 headers of '%s'", device);
	if ((why = luks2_area_problem(p, hs, "LUKS\xba\xbe")))
		which = "the primary LUKS2 header";
	else if ((why = luks2_area_problem(q, hs, "SKUL\xba\xbe")))
		which = "the secondary LUKS2 header";
	else if (be64(p + 16) != be64(q + 16) || memcmp(p + 4096, q + 4096, hs - 4096)) {
		which = "the two LUKS2 header copies";
		why = "differ (seqid or metadata)";
	}
	if (why)
		return cerr_setx(err, EBADMSG,
		                 "'%s': %s has %s: edited outside this VM; refused before "
		                 "libcryptsetup could repair it from the other copy, so the disk "
		                 "is left untouched",
		                 device, which, why);
	return 0;
}

/* The kernel lists "device-mapper" in /proc/misc when dm_mod is loaded.
 * /dev/mapper/control alone proves nothing: libdevmapper creates the node
 * itself when it is missing, even on a kernel without the driver. */
static bool dm_loaded(void)
{
	_cleanup_free_ char *misc = NULL;
	struct cerr ignored = CERR_INIT;
	size_t len = 0;

	if (read_file_stream("/proc/misc", 1 << 16, &misc, &len, &ignored) < 0)
		return false;
	return strstr(misc, " device-mapper\n") != NULL;
}

static int dm_available(const char *what, struct cerr *err)
{
	if (dm_loaded())
		return 0;
	return cerr_setx(err, ENODEV,
	                 "device-mapper is not available (no 'device-mapper' in /proc/misc): "
	                 "the kernel needs dm_mod and dm_crypt for %s (modprobe dm_crypt)",
	                 what);
}

static int open_luks2(const struct luks_open_opts *o, struct cerr *err)
{
	_cleanup_crypt_ struct crypt_device *cd = NULL;
	int r;

	r = header_copies_agree(o->device, err);
	if (r < 0)
		return r;
	r = crypt_init(&cd, o->device);
	if (r < 0)
		return cerr_set(err, -r, "libcryptsetup: open '%s'", o->device);
	r = crypt_load(cd, CRYPT_LUKS2, NULL);
	if (r < 0)
		return cerr_setx(err, EBADMSG,
		                 "'%s' has a LUKS2 signature but libcryptsetup cannot load its "
		                 "header (%s); left untouched",
		                 o->device, strerror(-r));
	r = check_header(cd, o->device, err);
	if (r < 0)
		return r;
	if (o->name) {
		crypt_status_info si;

		r = dm_available(o->device, err);
		if (r < 0)
			return r;
		si = crypt_status(NULL, o->name);
		if (si == CRYPT_INVALID)
			return cerr_setx(err, EIO, "device-mapper status of '%s' failed", o->name);
		if (si != CRYPT_INACTIVE)
			return cerr_setx(err, EEXIST,
			                 "/dev/mapper/%s is already in use: close it first "
			                 "(cocoon-disk close %s)",
			                 o->name, o->name);
	}
	r = crypt_activate_by_passphrase(cd, o->name, CRYPT_ANY_SLOT, (const char *)o->key,
	                                 LUKS_KEY_LEN, 0);
	if (r == -EPERM)
		return cerr_setx(err, EPERM,
		                 "the sealed key does not open LUKS2 disk '%s': it belongs to "
		                 "another VM, or this VM's measurements (image, spec) changed; the "
		                 "disk was left untouched",
		                 o->device);
	if (r < 0)
		return cerr_set(err, -r, "activate '%s' as /dev/mapper/%s", o->device,
		                o->name ? o->name : "(check only)");
	if (o->name)
		log_info("opened '%s' as /dev/mapper/%s (keyslot %d)", o->device, o->name, r);
	else
		log_debug("the key opens keyslot %d of '%s'", r, o->device);
	return 0;
}

int luks_open(const struct luks_open_opts *o, enum luks_done *done, struct cerr *err)
{
	struct luks_probe p;
	int r;

	crypt_log_once();
	if (!o->device || !o->key)
		return cerr_setx(err, EINVAL, "luks_open: no device or no key");
	if (o->name) {
		r = luks_name_check(o->name, err);
		if (r < 0)
			return r;
	}
	r = luks_probe(o->device, &p, err);
	if (r < 0)
		return r;
	switch (p.kind) {
	case LUKS_KIND_LUKS2:
		*done = LUKS_DONE_OPENED;
		return open_luks2(o, err);
	case LUKS_KIND_LUKS1:
		return cerr_setx(
		    err, EMEDIUMTYPE,
		    "'%s' is a LUKS1 disk: only LUKS2 disks made by this VM are opened; "
		    "left untouched",
		    o->device);
	case LUKS_KIND_OTHER:
		return cerr_setx(
		    err, EMEDIUMTYPE,
		    "'%s' is neither blank nor LUKS2 (%s): refusing to format it; "
		    "left untouched. Give the VM an empty (all-zero) disk to start anew",
		    o->device, p.detail);
	case LUKS_KIND_BLANK:
		break;
	}
	if (o->no_format)
		return cerr_setx(err, EMEDIUMTYPE, "'%s' is blank and formatting was not allowed",
		                 o->device);
	if (p.size < LUKS_MIN_SIZE)
		return cerr_setx(err, ENOSPC,
		                 "blank disk '%s' has %llu bytes; at least %llu are needed (LUKS2 "
		                 "header 16 MiB plus data); left untouched",
		                 o->device, (unsigned long long)p.size,
		                 (unsigned long long)LUKS_MIN_SIZE);
	if (o->name) {
		/* fail before writing anything when activation cannot work */
		r = dm_available(o->device, err);
		if (r < 0)
			return r;
	}
	r = format_blank(o->device, o->key, err);
	if (r < 0)
		return r;
	*done = LUKS_DONE_FORMATTED;
	/* the fresh header goes through the same checks as any other */
	return open_luks2(o, err);
}

int luks_status(const char *name, struct luks_status *st, struct cerr *err)
{
	_cleanup_crypt_ struct crypt_device *cd = NULL;
	const char *dev, *type, *cipher, *mode;
	crypt_status_info si;
	int r;

	crypt_log_once();
	memset(st, 0, sizeof(*st));
	r = luks_name_check(name, err);
	if (r < 0)
		return r;
	r = dm_available("/dev/mapper", err);
	if (r < 0)
		return r;
	si = crypt_status(NULL, name);
	if (si == CRYPT_INACTIVE)
		return 0;
	if (si == CRYPT_INVALID)
		return cerr_setx(err, EIO, "device-mapper status of '%s' failed", name);
	r = crypt_init_by_name(&cd, name);
	if (r < 0)
		return cerr_set(err, -r, "libcryptsetup: /dev/mapper/%s", name);
	st->active = true;
	dev = crypt_get_device_name(cd);
	type = crypt_get_type(cd);
	cipher = crypt_get_cipher(cd);
	mode = crypt_get_cipher_mode(cd);
	snprintf(st->device, sizeof(st->device), "%s", dev ? dev : "");
	snprintf(st->type, sizeof(st->type), "%s", type ? type : "");
	snprintf(st->cipher, sizeof(st->cipher), "%s-%s", cipher ? cipher : "?", mode ? mode : "?");
	return 0;
}

int luks_close(const char *name, struct cerr *err)
{
	_cleanup_crypt_ struct crypt_device *cd = NULL;
	int r;

	crypt_log_once();
	r = luks_name_check(name, err);
	if (r < 0)
		return r;
	r = dm_available("/dev/mapper", err);
	if (r < 0)
		return r;
	if (crypt_status(NULL, name) == CRYPT_INACTIVE)
		return cerr_setx(err, ENODEV, "/dev/mapper/%s is not active", name);
	r = crypt_init_by_name(&cd, name);
	if (r < 0)
		return cerr_set(err, -r, "libcryptsetup: /dev/mapper/%s", name);
	r = crypt_deactivate(cd, name);
	if (r < 0)
		return cerr_set(err, -r, "close /dev/mapper/%s (still mounted? umount it first)",
		                name);
	log_info("closed /dev/mapper/%s", name);
	return 0;
}
