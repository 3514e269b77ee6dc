/* quote.c - `cocoon-verify quote`: one DCAP quote against its collateral.
 *
 * Exit 0 when the quote is genuine and its collateral valid at TIME with any
 * TCB status but Revoked; 1 when a check fails (the message names it, and
 * --json prints {"ok": false, "check": ..., "error": ...}); 2 usage; 3 system.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cocoon/cli.h"
#include "cocoon/dcap.h"
#include "cocoon/util.h"
#include "verify.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: cocoon-verify quote FILE (--collateral FILE | --pccs URL) [OPTIONS]\n"
	        "\n"
	        "Verifies the Intel DCAP quote in FILE (SGX v3, TDX v4 or v5; ECDSA P-256):\n"
	        "the quote and QE report signatures, the QE report data, the PCK chain to the\n"
	        "pinned Intel SGX Root CA with the root and PCK CRLs, TCB Info and QE Identity\n"
	        "(signatures, chains, validity windows, FMSPC and PCE id), the TCB level and\n"
	        "the QE identity. Every certificate, CRL and collateral part must be valid at\n"
	        "TIME.\n"
	        "\n"
	        "Options:\n"
	        "  --collateral FILE  the collateral: a JSON object in the PCCS v4 shape\n"
	        "                     (pck_crl_issuer_chain, root_ca_crl, pck_crl,\n"
	        "                     tcb_info_issuer_chain, tcb_info, tcb_info_signature,\n"
	        "                     qe_identity_issuer_chain, qe_identity,\n"
	        "                     qe_identity_signature)\n"
	        "  --pccs URL         fetch the collateral from a PCCS (v4 API) instead\n"
	        "  --cache DIR        with --pccs: keep fetched collateral in DIR and use it\n"
	        "                     while it is within its window\n"
	        "  --save FILE        write the collateral used to FILE (the --collateral shape)\n"
	        "  --now TIME         verify at TIME: RFC 3339 (2025-06-20T00:00:00Z) or Unix\n"
	        "                     seconds (default: the clock)\n"
	        "  --json             print one JSON object: status, advisory_ids, tee,\n"
	        "                     version and the body fields in hex\n"
	        "  -h, --help         this text\n"
	        "\n"
	        "Exit status: 0 genuine and valid (any status but Revoked), 1 a check failed\n"
	        "(the message names it), 2 usage error, 3 system error.\n");
}

static void put_hex(struct json_object *o, const char *key, const void *p, size_t n)
{
	char hex[2 * 64 + 1];
	hex_encode(p, n, hex);
	json_object_object_add(o, key, json_object_new_string(hex));
}

static struct json_object *result_json(const struct dcap_quote *q, const struct dcap_result *res)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(dcap_status_ok(res->status)));
	json_object_object_add(o, "status", json_object_new_string(res->status));
	struct json_object *adv = json_object_new_array();
	for (size_t i = 0; i < res->n_advisory_ids; i++)
		json_object_array_add(adv, json_object_new_string(res->advisory_ids[i]));
	json_object_object_add(o, "advisory_ids", adv);
	bool tdx = q->body_type != DCAP_BODY_SGX;
	json_object_object_add(o, "tee", json_object_new_string(tdx ? "tdx" : "sgx"));
	json_object_object_add(o, "version", json_object_new_int(q->hdr.version));
	json_object_object_add(o, "tcb_date", json_object_new_string(res->tcb_date));
	put_hex(o, "fmspc", res->fmspc, sizeof(res->fmspc));
	json_object_object_add(o, "test_root", json_object_new_boolean(dcap_root_is_test()));
	if (tdx) {
		const struct dcap_td_report *t = &q->td;
		json_object_object_add(
		    o, "body",
		    json_object_new_string(q->body_type == DCAP_BODY_TD15 ? "td1.5" : "td1.0"));
		put_hex(o, "tee_tcb_svn", t->tee_tcb_svn, sizeof(t->tee_tcb_svn));
		put_hex(o, "mr_seam", t->mr_seam, sizeof(t->mr_seam));
		put_hex(o, "mr_signer_seam", t->mr_signer_seam, sizeof(t->mr_signer_seam));
		put_hex(o, "seam_attributes", t->seam_attributes, sizeof(t->seam_attributes));
		put_hex(o, "td_attributes", t->td_attributes, sizeof(t->td_attributes));
		put_hex(o, "xfam", t->xfam, sizeof(t->xfam));
		put_hex(o, "mr_td", t->mr_td, sizeof(t->mr_td));
		put_hex(o, "mr_config_id", t->mr_config_id, sizeof(t->mr_config_id));
		put_hex(o, "mr_owner", t->mr_owner, sizeof(t->mr_owner));
		put_hex(o, "mr_owner_config", t->mr_owner_config, sizeof(t->mr_owner_config));
		static const char *const rtmr[4] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3"};
		for (int i = 0; i < 4; i++)
			put_hex(o, rtmr[i], t->rtmr[i], sizeof(t->rtmr[i]));
		put_hex(o, "report_data", t->report_data, sizeof(t->report_data));
		if (q->body_type == DCAP_BODY_TD15) {
			put_hex(o, "tee_tcb_svn2", t->tee_tcb_svn2, sizeof(t->tee_tcb_svn2));
			put_hex(o, "mr_service_td", t->mr_service_td, sizeof(t->mr_service_td));
		}
	} else {
		const struct dcap_sgx_report *s = &q->sgx;
		put_hex(o, "cpu_svn", s->cpu_svn, sizeof(s->cpu_svn));
		json_object_object_add(o, "misc_select", json_object_new_int64(s->misc_select));
		put_hex(o, "attributes", s->attributes, sizeof(s->attributes));
		put_hex(o, "mr_enclave", s->mr_enclave, sizeof(s->mr_enclave));
		put_hex(o, "mr_signer", s->mr_signer, sizeof(s->mr_signer));
		put_hex(o, "config_id", s->config_id, sizeof(s->config_id));
		json_object_object_add(o, "isv_prod_id", json_object_new_int(s->isv_prod_id));
		json_object_object_add(o, "isv_svn", json_object_new_int(s->isv_svn));
		put_hex(o, "report_data", s->report_data, sizeof(s->report_data));
	}
	return o;
}

static int fail(bool json, const char *check, const struct cerr *err, int status)
{
	if (json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(0));
		json_object_object_add(o, "check", json_object_new_string(check));
		json_object_object_add(o, "error", json_object_new_string(err->msg));
		cli_print_json(o);
	}
	fprintf(stderr, "cocoon-verify: %s\n", err->msg);
	return status;
}

int cocoon_verify_quote(int argc, char **argv)
{
	enum { OPT_COLLATERAL = 256, OPT_PCCS, OPT_CACHE, OPT_NOW, OPT_JSON, OPT_SAVE };
	static const struct option opts[] = {
	    {"collateral", required_argument, NULL, OPT_COLLATERAL},
	    {"pccs", required_argument, NULL, OPT_PCCS},
	    {"cache", required_argument, NULL, OPT_CACHE},
	    {"save", required_argument, NULL, OPT_SAVE},
	    {"now", required_argument, NULL, OPT_NOW},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *collateral = NULL, *pccs = NULL, *cache = NULL, *save = NULL;
	time_t now = time(NULL);
	bool json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_COLLATERAL:
			collateral = optarg;
			break;
		case OPT_PCCS:
			pccs = optarg;
			break;
		case OPT_CACHE:
			cache = optarg;
			break;
		case OPT_SAVE:
			save = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_NOW:
			if (verify_parse_now("quote", optarg, &now) < 0)
				return VERIFY_EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return VERIFY_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !collateral == !pccs || (cache && !pccs)) {
		fprintf(stderr,
		        "cocoon-verify quote: want one FILE and one of --collateral or --pccs "
		        "(--cache only with --pccs)\n");
		usage(stderr);
		return VERIFY_EXIT_USAGE;
	}
	const char *path = argv[optind];

	struct cerr err = CERR_INIT;
	char *raw = NULL;
	size_t len = 0;
	if (read_file(path, DCAP_QUOTE_MAX, &raw, &len, &err) < 0)
		return fail(json, "read", &err,
		            err.code == EFBIG ? VERIFY_EXIT_FAILED : VERIFY_EXIT_SYSTEM);
	struct dcap_quote q;
	if (dcap_quote_parse((const uint8_t *)raw, len, &q, &err) < 0) {
		cerr_prefix(&err, -EBADMSG, "'%s'", path);
		free(raw);
		return fail(json, "quote parse", &err, VERIFY_EXIT_FAILED);
	}
	struct dcap_collateral col;
	int r = collateral ? dcap_collateral_load(collateral, &col, &err)
	                   : dcap_collateral_fetch(pccs, cache, &q, now, &col, &err);
	if (r < 0) {
		free(raw);
		return fail(json, "collateral", &err,
		            r == -ENOMEM ? VERIFY_EXIT_SYSTEM : VERIFY_EXIT_FAILED);
	}
	if (save && dcap_collateral_save(save, &col, &err) < 0) {
		dcap_collateral_free(&col);
		free(raw);
		return fail(json, "save", &err, VERIFY_EXIT_SYSTEM);
	}
	struct dcap_result res;
	r = dcap_verify(&q, &col, now, &res, &err);
	dcap_collateral_free(&col);
	if (r < 0) {
		free(raw);
		return fail(json, res.failed_check, &err, VERIFY_EXIT_FAILED);
	}
	int status = dcap_status_ok(res.status) ? VERIFY_EXIT_OK : VERIFY_EXIT_FAILED;
	if (json) {
		cli_print_json(result_json(&q, &res));
	} else {
		printf("%s quote v%u: %s", q.body_type == DCAP_BODY_SGX ? "SGX" : "TDX",
		       q.hdr.version, res.status);
		for (size_t i = 0; i < res.n_advisory_ids; i++)
			printf("%s%s", i ? "," : " advisories ", res.advisory_ids[i]);
		printf("%s\n", dcap_root_is_test() ? " (TEST ROOT, not Intel)" : "");
	}
	if (status)
		fprintf(stderr, "cocoon-verify: tcb status: Revoked\n");
	free(raw);
	return status;
}
