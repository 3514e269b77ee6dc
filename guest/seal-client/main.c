/* seal-client - gets one sealed key from the seal-server and writes it to a file.
 *
 *   seal-client [--tee tdx|sim] [-k NAME] -o FILE [--connect ADDR | -p PORT]
 *
 * Cocoon's flags (-p, -m, -s, -k, -o) mean what they mean there; the TEE
 * backend and the transport are ours. The key is written raw (32 bytes) with
 * mode 0400, atomically, and is never printed. The work is done by
 * lib/sealc.c, which cocoon-init uses too.
 *
 * Exit codes: 0 key written, 1 the seal-server's reply was refused (or the
 * check it needs is not in this build), 2 usage error, 3 local error (TEE,
 * files), 4 the seal-server could not be reached or gave no reply.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cocoon-config.h"
#include "cocoon/cli.h"
#include "cocoon/log.h"
#include "cocoon/sealc.h"
#include "cocoon/util.h"

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_SYSTEM = 3, EXIT_UNREACHABLE = 4 };

#define DEFAULT_PORT 12345
#define DEFAULT_SIM_KEY "/run/cocoon/sim-platform-key"
#define MAX_MR_ENCLAVE 16

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: seal-client [OPTIONS] -o FILE\n"
	        "\n"
	        "Gets the sealed key KEY_NAME for this VM from the seal-server: a TDX report\n"
	        "bound to a fresh P-256 key, the server's quote checked, the key decrypted.\n"
	        "\n"
	        "Options:\n"
	        "  -o, --output FILE        write the 32-byte key here (mode 0400, atomically)\n"
	        "  -k, --key-name NAME      which key (default 'default'; [A-Za-z0-9_.-], 1..64)\n"
	        "  -p, --port PORT          seal-server on vsock CID 2, PORT (default 12345)\n"
	        "  --connect ADDR           seal-server address instead: vsock:CID:PORT,\n"
	        "                           vport:NAME, unix:PATH, tcp:HOST:PORT\n"
	        "  -m, --mr-enclave HEX     allowed SGX MR_ENCLAVE (64 hex digits), repeatable;\n"
	        "                           real mode refuses an empty list\n"
	        "  --collateral FILE        real mode: the DCAP collateral (PCCS v4 JSON, as\n"
	        "                           cocoon-verify quote reads it) the server's SGX\n"
	        "                           quote is verified with; the host provides it\n"
	        "  -s, --skip-validation    do not check the server's quote (trusted host only)\n"
	        "  --tee tdx|sim            TEE backend (default tdx); sim is for development\n"
	        "                           and protects nothing\n"
	        "  --sim-rtmr FILE          sim RTMR file (default " TEE_SIM_RTMR_PATH ")\n"
	        "  --sim-platform-key FILE  sim platform key (default " DEFAULT_SIM_KEY ")\n"
	        "  --timeout MS             connect and each message (default 30000)\n"
	        "  --json                   print the result as JSON on stdout (never the key)\n"
	        "  -q, --quiet              errors only;  -v, --verbose  debug messages\n"
	        "  -h, --help               this text;    -V, --version  print the version\n"
	        "\n"
	        "Real mode: the server's SGX quote must verify (Intel DCAP, against\n"
	        "--collateral at the clock's time; any TCB status but Revoked), MR_ENCLAVE\n"
	        "must be one of -m, DEBUG must be off and the report data must bind this\n"
	        "request; otherwise the reply is refused (exit 1).\n"
	        "\n"
	        "Exit status: 0 key written, 1 reply refused, 2 usage error, 3 local error,\n"
	        "4 seal-server unreachable or no reply.\n");
}

static void print_result(bool json, bool ok, const char *name, const char *out, const char *msg)
{
	json_object *o;

	if (!json)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	json_object_object_add(o, "key_name", json_object_new_string(name));
	json_object_object_add(o, "output", json_object_new_string(out));
	if (msg)
		json_object_object_add(o, "error", json_object_new_string(msg));
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	                                           JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int main(int argc, char **argv)
{
	enum {
		OPT_CONNECT = 256,
		OPT_TEE,
		OPT_SIM_RTMR,
		OPT_SIM_KEY,
		OPT_TIMEOUT,
		OPT_JSON,
		OPT_COLLATERAL
	};
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"key-name", required_argument, NULL, 'k'},
	    {"port", required_argument, NULL, 'p'},
	    {"connect", required_argument, NULL, OPT_CONNECT},
	    {"mr-enclave", required_argument, NULL, 'm'},
	    {"skip-validation", no_argument, NULL, 's'},
	    {"collateral", required_argument, NULL, OPT_COLLATERAL},
	    {"tee", required_argument, NULL, OPT_TEE},
	    {"sim-rtmr", required_argument, NULL, OPT_SIM_RTMR},
	    {"sim-platform-key", required_argument, NULL, OPT_SIM_KEY},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	static uint8_t mr[MAX_MR_ENCLAVE][SEALC_MRENCLAVE_LEN];
	struct sealc_opts so = {.key_name = "default"};
	struct cerr err = CERR_INIT;
	enum tee_kind kind = TEE_TDX;
	struct tee tee;
	uint8_t key[SEALC_KEY_LEN];
	char connect_buf[64];
	const char *output = NULL, *sim_rtmr = NULL, *sim_key = DEFAULT_SIM_KEY;
	enum sealc_stage stage;
	bool json = false;
	long v;
	int c, r, rc;

	log_init(argv[0]);
	snprintf(connect_buf, sizeof(connect_buf), "vsock:2:%d", DEFAULT_PORT);
	so.connect = connect_buf;
	while ((c = getopt_long(argc, argv, "o:k:p:m:sqvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'k':
			so.key_name = optarg;
			break;
		case 'p':
			if (cli_parse_long(optarg, 1, 0xfffffffeL, &v) < 0) {
				log_error("bad port '%s': give a number", optarg);
				return EXIT_USAGE;
			}
			snprintf(connect_buf, sizeof(connect_buf), "vsock:2:%ld", v);
			so.connect = connect_buf;
			break;
		case OPT_CONNECT:
			so.connect = optarg;
			break;
		case 'm':
			if (so.n_mr_enclave == MAX_MR_ENCLAVE) {
				log_error("at most %d -m/--mr-enclave values", MAX_MR_ENCLAVE);
				return EXIT_USAGE;
			}
			if (strlen(optarg) != 2 * SEALC_MRENCLAVE_LEN ||
			    hex_decode(optarg, mr[so.n_mr_enclave], SEALC_MRENCLAVE_LEN) < 0) {
				log_error("bad MR_ENCLAVE '%s': give 64 hex digits", optarg);
				return EXIT_USAGE;
			}
			so.n_mr_enclave++;
			break;
		case 's':
			so.skip_validation = true;
			break;
		case OPT_COLLATERAL:
			so.dcap_collateral = optarg;
			break;
		case OPT_TEE:
			if (tee_kind_parse(optarg, &kind, &err) < 0) {
				log_cerr(&err);
				return EXIT_USAGE;
			}
			break;
		case OPT_SIM_RTMR:
			sim_rtmr = optarg;
			break;
		case OPT_SIM_KEY:
			sim_key = optarg;
			break;
		case OPT_TIMEOUT:
			if (cli_parse_long(optarg, 1, 3600000, &v) < 0) {
				log_error("bad --timeout '%s': milliseconds, 1..3600000", optarg);
				return EXIT_USAGE;
			}
			so.timeout_ms = (int)v;
			break;
		case OPT_JSON:
			json = true;
			break;
		default: {
			int done = cli_common_option(c, "seal-client", usage);

			if (done != CLI_CONTINUE)
				return done;
			break;
		}
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s' (see seal-client --help)", argv[optind]);
		return EXIT_USAGE;
	}
	if (!output) {
		log_error("no output file: give -o FILE (the key is never printed)");
		return EXIT_USAGE;
	}
	if (seal_key_name_check(so.key_name, &err) < 0) {
		log_cerr(&err);
		return EXIT_USAGE;
	}
	so.mr_enclave = (const uint8_t(*)[SEALC_MRENCLAVE_LEN])mr;

	tee_init(&tee, kind);
	so.tee = &tee;
	if (kind == TEE_SIM) {
		log_warn("TEE backend sim: development only, this key protects nothing");
		if (sim_rtmr)
			snprintf(tee.sim_rtmr_path, sizeof(tee.sim_rtmr_path), "%s", sim_rtmr);
		if (tee_sim_load_key(&tee, sim_key, &err) < 0) {
			log_cerr(&err);
			print_result(json, false, so.key_name, output, err.msg);
			return EXIT_SYSTEM;
		}
	}
	if (so.skip_validation)
		log_warn("--skip-validation: the seal-server's quote is not checked");

	r = sealc_get_key(&so, key, &stage, &err);
	tee_done(&tee);
	if (r < 0) {
		log_cerr(&err);
		print_result(json, false, so.key_name, output, err.msg);
		rc = stage == SEALC_STAGE_REPLY      ? EXIT_REFUSED
		     : stage == SEALC_STAGE_EXCHANGE ? EXIT_UNREACHABLE
		                                     : EXIT_SYSTEM;
		return rc;
	}
	r = write_file_atomic(output, key, sizeof(key), 0400, &err);
	secure_wipe(key, sizeof(key));
	if (r < 0) {
		log_cerr(&err);
		print_result(json, false, so.key_name, output, err.msg);
		return EXIT_SYSTEM;
	}
	log_info("key '%s' written to '%s'", so.key_name, output);
	print_result(json, true, so.key_name, output, NULL);
	return 0;
}
