/* fuzz_tee.c - libFuzzer target for the TEE report and the sim quote, the
 * bytes a seal-server reads from a guest and a guest from a seal-server.
 *
 * The input is tried as it is by tdreport_parse() (and the report-data
 * binding), by tee_sim_verify_report() once cut or padded to a report, and by
 * tee_sim_quote_verify(). The byte after the first 1024 (when there is one)
 * asks the harness to repair the report first, so that the checks after the
 * MAC run too: bit 0 recomputes the MAC, bit 1 also the two hashes the sim
 * verification checks; a report repaired both ways must verify, one the
 * harness built itself must verify, a quote it built must give back its
 * report data, and every refusal must come with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cocoon/crypto.h"
#include "cocoon/tee.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[TEE_SIM_PLATFORM_KEY_LEN] = "fuzz_tee sim platform key 32 B.";

static void must_fail_with_message(int r, const struct cerr *err)
{
	if (r < 0 && err->msg[0] == '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t report[TDREPORT_LEN] = {0}, rtmr[TEE_RTMR_COUNT][TEE_RTMR_LEN] = {{0}};
	uint8_t pub[64] = {0}, rd[TDREPORT_DATA_LEN] = {0}, quote[TEE_SIM_QUOTE_LEN];
	struct cerr err = CERR_INIT;
	struct tdreport rep;
	uint8_t how = size > TDREPORT_LEN ? data[TDREPORT_LEN] : 0;
	int r;

	/* the bytes as they came */
	r = tdreport_parse(data, size, &rep, &err);
	must_fail_with_message(r, &err);
	if (r == 0) {
		if (size != TDREPORT_LEN)
			abort();
		memcpy(pub, data + TDR_OFF_TDINFO, sizeof(pub));
		must_fail_with_message(tdreport_check_binding(&rep, pub, &err), &err);
	}
	err = (struct cerr)CERR_INIT;
	must_fail_with_message(tee_sim_quote_verify(key, data, size, rd, &err), &err);

	/* cut or padded to a report, repaired as asked */
	memcpy(report, data, size < TDREPORT_LEN ? size : TDREPORT_LEN);
	if (how & 2) {
		if (tee_sim_tcb_hash(report + TDR_OFF_TCB_INFO_HASH, &err) < 0 ||
		    crypto_sha384(report + TDR_OFF_TDINFO, TDR_TDINFO_LEN,
		                  report + TDR_OFF_TEE_INFO_HASH, &err) < 0)
			abort();
	}
	if ((how & 3) && tee_sim_report_mac(key, report, report + TDR_OFF_MAC, &err) < 0)
		abort();
	err = (struct cerr)CERR_INIT;
	r = tee_sim_verify_report(key, report, &err);
	must_fail_with_message(r, &err);
	if ((how & 3) == 3 && r < 0)
		abort();

	/* what the harness builds from the input must verify */
	memcpy(rtmr, report + TDR_OFF_RTMR0, sizeof(rtmr));
	memcpy(rd, report + TDR_OFF_REPORTDATA, sizeof(rd));
	if (tee_sim_build_report(key, rtmr, rd, report, &err) < 0 ||
	    tee_sim_verify_report(key, report, &err) < 0 ||
	    tdreport_parse(report, sizeof(report), &rep, &err) < 0 ||
	    memcmp(rep.reportdata, rd, sizeof(rd)) || memcmp(rep.rtmr, rtmr, sizeof(rtmr)))
		abort();
	if (tee_sim_quote_build(key, rd, quote, &err) < 0)
		abort();
	{
		uint8_t got[TDREPORT_DATA_LEN];

		if (tee_sim_quote_verify(key, quote, sizeof(quote), got, &err) < 0 ||
		    memcmp(got, rd, sizeof(got)))
			abort();
		quote[how % sizeof(quote)] ^= 1; /* and one bit off must not */
		if (tee_sim_quote_verify(key, quote, sizeof(quote), got, &err) == 0)
			abort();
	}
	return 0;
}
