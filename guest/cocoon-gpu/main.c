/* cocoon-gpu - the GPU ready gate's checks and the containers' GPU access,
 * by hand (cocoon-init runs the same code, lib/gpuattest.c and lib/gpucdi.c).
 *
 *   cocoon-gpu attest [--count N] [--reference FILE] [--nvml LIB]
 *                     [--root-pem FILE] [--evidence-out FILE] [--json]
 *   cocoon-gpu cdi [--root DIR] [--lib-dir DIR]... [--bin-dir DIR]...
 *
 * Exit codes: 0 every GPU verified (attest) or spec written (cdi), 1 refused
 * (the reason is printed), 2 usage error, 3 system error (no NVML, no driver).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cocoon/cli.h"
#include "cocoon/gpuattest.h"
#include "cocoon/gpucdi.h"
#include "cocoon/log.h"
#include "cocoon/util.h"

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_SYSTEM = 3 };

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: cocoon-gpu attest [--count N] [--reference FILE] [--nvml LIB]\n"
	        "                         [--root-pem FILE] [--evidence-out FILE] [--json]\n"
	        "       cocoon-gpu cdi [--root DIR] [--lib-dir DIR]... [--bin-dir DIR]...\n"
	        "\n"
	        "attest: collects every GPU's confidential-computing evidence through NVML\n"
	        "and checks it offline, as cocoon-init's GPU gate does (docs/cocoon-init.md):\n"
	        "CC on, DEVTOOLS off, the GPU count, the certificate chain to the pinned\n"
	        "NVIDIA Device Identity root, the report's signature and nonce, and the\n"
	        "reference measurements when given. Prints each GPU's RTMR3 event.\n"
	        "  --count N          GPUs the VM must have (default 1)\n"
	        "  --reference FILE   reference measurements (JSON, docs/cocoon-init.md)\n"
	        "  --nvml LIB         the NVML library (default " GPUATTEST_NVML_LIB ")\n"
	        "  --root-pem FILE    another root than NVIDIA's (tests only)\n"
	        "  --evidence-out F   write what NVML returned as JSON (a test fixture)\n"
	        "  --json             the verdicts as JSON\n"
	        "cdi: prints the CDI spec (kind " GPUCDI_KIND ") made from the installed\n"
	        "driver: its /dev/nvidia* nodes, libraries and programs.\n"
	        "  --root DIR         look under DIR instead of /\n"
	        "  --lib-dir DIR      a library directory (repeatable; default: the usual)\n"
	        "  --bin-dir DIR      a program directory (repeatable)\n"
	        "\n"
	        "Exit status: 0 verified / written, 1 refused, 2 usage error, 3 system error.\n");
}

/* -h (0 after the usage on stdout) or anything else (usage error) */
static int other_option(int c)
{
	usage(c == 'h' ? stdout : stderr);
	return c == 'h' ? 0 : EXIT_USAGE;
}

static int attest(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"count", required_argument, NULL, 'c'},
	    {"reference", required_argument, NULL, 'r'},
	    {"nvml", required_argument, NULL, 'n'},
	    {"root-pem", required_argument, NULL, 'R'},
	    {"evidence-out", required_argument, NULL, 'e'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *lib = GPUATTEST_NVML_LIB, *ref_path = NULL, *root_path = NULL, *ev_out = NULL;
	_cleanup_free_ char *root_pem = NULL, *ref_text = NULL, *ev_json = NULL;
	struct gpuattest_evidence ev;
	struct gpuattest_result res;
	struct gpuattest_ref *ref = NULL;
	struct gpuattest_policy pol = {.expected_count = 1};
	struct cerr err = CERR_INIT, verr = CERR_INIT;
	bool json = false;
	long count;
	size_t len;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (cli_parse_long(optarg, 0, GPUATTEST_MAX_GPUS, &count) < 0) {
				fprintf(stderr, "cocoon-gpu: --count must be 0..%d\n",
				        GPUATTEST_MAX_GPUS);
				return EXIT_USAGE;
			}
			pol.expected_count = (unsigned)count;
			break;
		case 'r':
			ref_path = optarg;
			break;
		case 'n':
			lib = optarg;
			break;
		case 'R':
			root_path = optarg;
			break;
		case 'e':
			ev_out = optarg;
			break;
		case 'j':
			json = true;
			break;
		default:
			return other_option(c);
		}
	}
	if (optind != argc)
		return other_option('?');
	if (root_path) {
		if (read_file(root_path, 1 << 16, &root_pem, &len, &err) < 0) {
			log_cerr(&err);
			return EXIT_USAGE;
		}
		pol.root_pem = root_pem;
	}
	if (ref_path) {
		ref = calloc(1, sizeof(*ref));
		if (!ref || read_file(ref_path, GPUATTEST_REF_MAX, &ref_text, &len, &err) < 0 ||
		    gpuattest_ref_parse(ref_text, len, ref_path, ref, &err) < 0) {
			log_cerr(&err);
			free(ref);
			return EXIT_USAGE;
		}
		pol.ref = ref;
	}
	r = gpuattest_collect(lib, &ev, &err);
	if (r < 0) {
		free(ref);
		if (json)
			cli_print_error_json(&err);
		else
			log_cerr(&err);
		return EXIT_SYSTEM;
	}
	if (ev_out && (gpuattest_evidence_json(&ev, &ev_json, &err) < 0 ||
	               write_file_atomic(ev_out, ev_json, strlen(ev_json), 0644, &err) < 0)) {
		log_cerr(&err);
		gpuattest_evidence_free(&ev);
		free(ref);
		return EXIT_SYSTEM;
	}
	r = gpuattest_verify(&ev, &pol, &res, &verr);
	if (json) {
		json_object *o = json_object_new_object(), *a = json_object_new_array();

		json_object_object_add(o, "ok", json_object_new_boolean(r == 0));
		json_object_object_add(o, "driver", json_object_new_string(ev.driver));
		json_object_object_add(o, "gpus_found", json_object_new_int((int)ev.count));
		json_object_object_add(o, "gpus_expected",
		                       json_object_new_int((int)pol.expected_count));
		if (r < 0)
			json_object_object_add(o, "error", json_object_new_string(verr.msg));
		if (res.reason[0])
			json_object_object_add(o, "reason", json_object_new_string(res.reason));
		for (size_t i = 0; i < res.n; i++) {
			json_object *g = json_object_new_object();
			char ev_msg[512];

			json_object_object_add(g, "uuid", json_object_new_string(ev.gpu[i].uuid));
			json_object_object_add(g, "verdict",
			                       json_object_new_string(res.v[i].reason));
			json_object_object_add(g, "detail", json_object_new_string(res.v[i].why));
			if (gpuattest_event(&ev, &res, i, ev_msg, sizeof(ev_msg), &err) == 0)
				json_object_object_add(g, "event", json_object_new_string(ev_msg));
			json_object_array_add(a, g);
		}
		json_object_object_add(o, "gpus", a);
		cli_print_json(o);
	} else {
		printf("driver %s, %u GPU%s (the spec declares %u)\n",
		       ev.driver[0] ? ev.driver : "unknown", ev.count, ev.count == 1 ? "" : "s",
		       pol.expected_count);
		printf("CC state: %s (%d): environment %u, ccFeature %u, devToolsMode %u\n",
		       gpuattest_nvml_rc_name(ev.state_rc), ev.state_rc, ev.environment,
		       ev.cc_feature, ev.devtools);
		printf("CC settings: %s (%d): environment %u, ccFeature %u, devToolsMode %u, "
		       "multiGpuMode %u\n",
		       gpuattest_nvml_rc_name(ev.settings_rc), ev.settings_rc, ev.s_environment,
		       ev.s_cc_feature, ev.s_devtools, ev.s_multigpu);
		for (size_t i = 0; i < ev.n_gpu; i++)
			printf("GPU %zu %s: certificate %s (%d), %zu bytes; report %s (%d), %zu "
			       "bytes\n",
			       i, ev.gpu[i].uuid, gpuattest_nvml_rc_name(ev.gpu[i].cert_rc),
			       ev.gpu[i].cert_rc, ev.gpu[i].chain_len,
			       gpuattest_nvml_rc_name(ev.gpu[i].report_rc), ev.gpu[i].report_rc,
			       ev.gpu[i].report_len);
		for (size_t i = 0; i < res.n; i++) {
			char ev_msg[512];

			printf("GPU %zu: %s: %s\n", i, res.v[i].reason, res.v[i].why);
			if (gpuattest_event(&ev, &res, i, ev_msg, sizeof(ev_msg), &err) == 0)
				printf("  event: %s\n", ev_msg);
		}
		if (r < 0)
			printf("%s\n", verr.msg);
		else
			printf("every GPU verified\n");
	}
	gpuattest_evidence_free(&ev);
	free(ref);
	return r < 0 ? EXIT_REFUSED : 0;
}

static int cdi(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"root", required_argument, NULL, 'r'},
	    {"lib-dir", required_argument, NULL, 'l'},
	    {"bin-dir", required_argument, NULL, 'b'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *libs[17] = {0}, *bins[17] = {0};
	struct gpucdi_opts o = {0};
	struct cerr err = CERR_INIT;
	size_t nl = 0, nb = 0;
	_cleanup_free_ char *out = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			o.root = optarg;
			break;
		case 'l':
		case 'b':
			if ((c == 'l' ? nl : nb) >= 16) {
				fprintf(stderr, "cocoon-gpu: at most 16 --lib-dir and --bin-dir\n");
				return EXIT_USAGE;
			}
			if (c == 'l')
				libs[nl++] = optarg;
			else
				bins[nb++] = optarg;
			break;
		default:
			return other_option(c);
		}
	}
	if (optind != argc)
		return other_option('?');
	o.lib_dirs = nl ? libs : NULL;
	o.bin_dirs = nb ? bins : NULL;
	if (gpucdi_spec(&o, &out, &err) < 0) {
		log_cerr(&err);
		return err.code == ENODEV ? EXIT_REFUSED : EXIT_SYSTEM;
	}
	fputs(out, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	log_init(argv[0]);
	if (argc >= 2 && !strcmp(argv[1], "attest"))
		return attest(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "cdi"))
		return cdi(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")))
		return cli_common_option('V', "cocoon-gpu", usage);
	usage(stderr);
	return EXIT_USAGE;
}
