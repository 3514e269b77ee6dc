/* mode.c - cocoon-init's mode, from the kernel command line only.
 *
 * The command line is part of the measured boot (TDX: RTMR2 through the
 * firmware), so the words that switch a guest into debug or simulated mode
 * cannot be added by the host without changing the measurements. Words that
 * are not ours are ignored; one of ours with a value we do not know, or given
 * twice, stops the boot rather than being guessed at.
 *
 * Words: cocoon_debug (also cocoon_debug=1 and cocoon.debug=1, which
 * cocoon-launch --dev writes), cocoon.tee=sim|tdx, cocoon_gpu (also =1,
 * cocoon.gpu=1), cocoon.fs=9p|virtiofs, cocoon.seal=ADDR,
 * cocoon.seal_mrenclave=HEX[,HEX...] (the seal enclaves seal-client accepts
 * under TDX: measured here, so the host cannot widen the list) and
 * cocoon.seal_collateral=PATH. cocoon.health is health-monitor's and is
 * ignored here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cocoon/util.h"
#include "init.h"

static int hex_decode_n(const char *p, uint8_t out[32])
{
	char h[65];
	memcpy(h, p, 64);
	h[64] = 0;
	return hex_decode(h, out, 32);
}

enum { K_DEBUG, K_TEE, K_GPU, K_FS, K_SEAL, K_MRENCLAVE, K_COLLATERAL, K_COUNT };

static int flag_value(const char *word, const char *val, bool *out, struct cerr *err)
{
	if (!val || !strcmp(val, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(val, "0")) {
		*out = false;
		return 0;
	}
	return cerr_setx(err, EINVAL, "kernel command line: '%s': expected no value, =1 or =0",
	                 word);
}

static int one_word(const char *word, struct init_mode *m, bool seen[K_COUNT], struct cerr *err)
{
	char key[64];
	const char *eq = strchr(word, '=');
	const char *val = eq ? eq + 1 : NULL;
	size_t klen = eq ? (size_t)(eq - word) : strlen(word);
	int k;

	if (klen >= sizeof(key))
		return 0;
	memcpy(key, word, klen);
	key[klen] = '\0';

	if (!strcmp(key, "cocoon_debug") || !strcmp(key, "cocoon.debug"))
		k = K_DEBUG;
	else if (!strcmp(key, "cocoon.tee"))
		k = K_TEE;
	else if (!strcmp(key, "cocoon_gpu") || !strcmp(key, "cocoon.gpu"))
		k = K_GPU;
	else if (!strcmp(key, "cocoon.fs"))
		k = K_FS;
	else if (!strcmp(key, "cocoon.seal"))
		k = K_SEAL;
	else if (!strcmp(key, "cocoon.seal_mrenclave"))
		k = K_MRENCLAVE;
	else if (!strcmp(key, "cocoon.seal_collateral"))
		k = K_COLLATERAL;
	else
		return 0;
	if (seen[k])
		return cerr_setx(err, EINVAL, "kernel command line: '%s' given twice", key);
	seen[k] = true;

	switch (k) {
	case K_DEBUG:
		return flag_value(word, val, &m->debug, err);
	case K_GPU:
		return flag_value(word, val, &m->gpu, err);
	case K_TEE:
		if (!val || tee_kind_parse(val, &m->tee, NULL) < 0)
			return cerr_setx(
			    err, EINVAL,
			    "kernel command line: '%s': expected cocoon.tee=tdx or sim", word);
		return 0;
	case K_FS:
		if (val && !strcmp(val, "9p"))
			m->fs_9p = true;
		else if (val && !strcmp(val, "virtiofs"))
			m->fs_9p = false;
		else
			return cerr_setx(
			    err, EINVAL,
			    "kernel command line: '%s': expected cocoon.fs=virtiofs or 9p", word);
		return 0;
	case K_MRENCLAVE:
		for (const char *p = val ? val : "";; p += 65) {
			if (m->n_seal_mrenclave == INIT_MRENCLAVE_MAX ||
			    strspn(p, "0123456789abcdefABCDEF") != 64 || (p[64] && p[64] != ',') ||
			    hex_decode_n(p, m->seal_mrenclave[m->n_seal_mrenclave]) < 0)
				return cerr_setx(
				    err, EINVAL,
				    "kernel command line: '%s': expected "
				    "cocoon.seal_mrenclave=HEX[,HEX...] (64 hex digits each, "
				    "at most %d)",
				    word, INIT_MRENCLAVE_MAX);
			m->n_seal_mrenclave++;
			if (!p[64])
				return 0;
		}
	case K_COLLATERAL:
		if (!val || val[0] != '/' || strlen(val) >= sizeof(m->seal_collateral))
			return cerr_setx(
			    err, EINVAL,
			    "kernel command line: '%s': expected cocoon.seal_collateral=/PATH",
			    word);
		snprintf(m->seal_collateral, sizeof(m->seal_collateral), "%s", val);
		return 0;
	default: /* K_SEAL */
		if (!val || !*val || strlen(val) >= sizeof(m->seal))
			return cerr_setx(err, EINVAL,
			                 "kernel command line: '%s': expected cocoon.seal=ADDR",
			                 word);
		snprintf(m->seal, sizeof(m->seal), "%s", val);
		return 0;
	}
}

int init_mode_parse(const char *cmdline, struct init_mode *m, struct cerr *err)
{
	bool seen[K_COUNT] = {false};
	const char *p = cmdline;

	*m = (struct init_mode){.tee = TEE_TDX};
	snprintf(m->seal, sizeof(m->seal), "%s", INIT_SEAL_DEFAULT);
	snprintf(m->seal_collateral, sizeof(m->seal_collateral), "%s",
	         INIT_SEAL_COLLATERAL_DEFAULT);
	while (*p) {
		char word[1024];
		size_t n = strcspn(p, " \t\n");

		if (n == 0) {
			p++;
			continue;
		}
		/* a word this long is not one of ours, but must not be cut into one */
		if (n < sizeof(word)) {
			int r;

			memcpy(word, p, n);
			word[n] = '\0';
			if ((r = one_word(word, m, seen, err)) < 0)
				return r;
		}
		p += n;
	}
	return 0;
}
