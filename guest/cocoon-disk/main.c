/* cocoon-disk - the encrypted persistent disk, by hand (tests, operations).
 *
 *   cocoon-disk probe DEVICE
 *   cocoon-disk open DEVICE [NAME] --key-file FILE [--no-format]
 *   cocoon-disk status NAME
 *   cocoon-disk close NAME
 *
 * cocoon-init does the same through lib/luks.c at boot (step 5 of the guest
 * sequence); this program exists so that the rules can be exercised and
 * inspected on their own. `open` without NAME checks that the key opens the
 * disk (formatting it first if it is blank) and activates nothing, which
 * needs no device-mapper.
 *
 * Exit codes: 0 done, 1 refused (the disk is not blank and not a LUKS2 disk
 * this key opens; it was not written), 2 usage error, 3 system error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "cocoon-config.h"
#include "cocoon/cli.h"
#include "cocoon/log.h"
#include "cocoon/luks.h"
#include "cocoon/util.h"

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_SYSTEM = 3 };

static bool json;

static void usage(FILE *f)
{
	fprintf(f, "Usage: cocoon-disk [OPTIONS] COMMAND ARGS\n"
	           "\n"
	           "The VM's encrypted persistent disk (LUKS2, key sealed to the VM).\n"
	           "\n"
	           "Commands:\n"
	           "  probe DEVICE        say what DEVICE holds (blank, luks2, luks1, other);\n"
	           "                      reads only\n"
	           "  open DEVICE [NAME]  LUKS2: open with the key; blank (no signature, first\n"
	           "                      and last MiB zero): format as LUKS2 first; anything\n"
	           "                      else: refuse without writing. With NAME, activate\n"
	           "                      /dev/mapper/NAME; without, only check the key\n"
	           "  status NAME         whether /dev/mapper/NAME is active, and on what\n"
	           "  close NAME          deactivate /dev/mapper/NAME\n"
	           "\n"
	           "Options:\n"
	           "  -k, --key-file FILE  the 32-byte sealed key (open)\n"
	           "  --no-format          open: a blank disk is refused instead of formatted\n"
	           "  --json               print the result as JSON on stdout\n"
	           "  -q, --quiet          errors only;  -v, --verbose  debug messages\n"
	           "  -h, --help           this text;    -V, --version  print the version\n"
	           "\n"
	           "Exit status: 0 done, 1 refused (disk not written), 2 usage error,\n"
	           "3 system error.\n");
}

static int exit_for(int r)
{
	switch (-r) {
	case EPERM:
	case EMEDIUMTYPE:
	case EBADMSG:
	case ENOSPC:
		return EXIT_REFUSED;
	default:
		return EXIT_SYSTEM;
	}
}

static int fail(const struct cerr *err, int r)
{
	log_cerr(err);
	if (json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(false));
		json_object_object_add(o, "error", json_object_new_string(err->msg));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	}
	return exit_for(r);
}

static void print_json(json_object *o)
{
	json_object_object_add(o, "ok", json_object_new_boolean(true));
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static int read_key(const char *path, uint8_t key[LUKS_KEY_LEN], struct cerr *err)
{
	char *data = NULL;
	size_t len = 0;
	int r;

	r = read_file(path, LUKS_KEY_LEN + 1, &data, &len, err);
	if (r < 0)
		return r;
	if (len != LUKS_KEY_LEN) {
		secure_free(data, len);
		return cerr_setx(err, EINVAL,
		                 "key file '%s' has %zu bytes, expected %d raw bytes (seal-client "
		                 "-o writes such a file)",
		                 path, len, LUKS_KEY_LEN);
	}
	memcpy(key, data, LUKS_KEY_LEN);
	secure_free(data, len);
	return 0;
}

static int cmd_probe(const char *device)
{
	struct cerr err = CERR_INIT;
	struct luks_probe p;
	int r;

	r = luks_probe(device, &p, &err);
	if (r < 0)
		return fail(&err, r);
	if (json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "device", json_object_new_string(device));
		json_object_object_add(o, "kind", json_object_new_string(luks_kind_name(p.kind)));
		json_object_object_add(o, "size", json_object_new_uint64(p.size));
		json_object_object_add(o, "detail", json_object_new_string(p.detail));
		print_json(o);
	} else {
		printf("%s: %s (%s), %llu bytes\n", device, luks_kind_name(p.kind), p.detail,
		       (unsigned long long)p.size);
	}
	return 0;
}

static int cmd_open(const char *device, const char *name, const char *key_file, bool no_format)
{
	struct cerr err = CERR_INIT;
	uint8_t key[LUKS_KEY_LEN];
	struct luks_open_opts o = {.device = device, .name = name, .no_format = no_format};
	enum luks_done done = 0;
	int r;

	if (!key_file) {
		log_error("open: give the sealed key with --key-file FILE");
		return EXIT_USAGE;
	}
	r = read_key(key_file, key, &err);
	if (r < 0)
		return fail(&err, r);
	o.key = key;
	r = luks_open(&o, &done, &err);
	secure_wipe(key, sizeof(key));
	if (r < 0)
		return fail(&err, r);
	if (json) {
		json_object *o2 = json_object_new_object();
		json_object_object_add(o2, "device", json_object_new_string(device));
		json_object_object_add(
		    o2, "done",
		    json_object_new_string(done == LUKS_DONE_FORMATTED ? "formatted" : "opened"));
		json_object_object_add(
		    o2, "mapper", name ? json_object_new_string(name) : json_object_new_null());
		print_json(o2);
	} else {
		printf("%s: %s%s%s\n", device,
		       done == LUKS_DONE_FORMATTED ? "was blank, formatted as LUKS2, key checked"
		                                   : "LUKS2, key checked",
		       name ? ", active as /dev/mapper/" : " (nothing activated)",
		       name ? name : "");
	}
	return 0;
}

static int cmd_status(const char *name)
{
	struct cerr err = CERR_INIT;
	struct luks_status st;
	int r;

	r = luks_status(name, &st, &err);
	if (r < 0)
		return fail(&err, r);
	if (json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "active", json_object_new_boolean(st.active));
		if (st.active) {
			json_object_object_add(o, "device", json_object_new_string(st.device));
			json_object_object_add(o, "type", json_object_new_string(st.type));
			json_object_object_add(o, "cipher", json_object_new_string(st.cipher));
		}
		print_json(o);
	} else if (st.active) {
		printf("/dev/mapper/%s: active, %s on %s, %s\n", name, st.type, st.device,
		       st.cipher);
	} else {
		printf("/dev/mapper/%s: not active\n", name);
	}
	return 0;
}

static int cmd_close(const char *name)
{
	struct cerr err = CERR_INIT;
	int r;

	r = luks_close(name, &err);
	if (r < 0)
		return fail(&err, r);
	if (json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(name));
		print_json(o);
	} else {
		printf("/dev/mapper/%s: closed\n", name);
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_NO_FORMAT = 256, OPT_JSON };
	static const struct option opts[] = {
	    {"key-file", required_argument, NULL, 'k'},
	    {"no-format", no_argument, NULL, OPT_NO_FORMAT},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *key_file = NULL, *cmd;
	bool no_format = false;
	int c, nargs;

	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "k:qvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			key_file = optarg;
			break;
		case OPT_NO_FORMAT:
			no_format = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		default: {
			int done = cli_common_option(c, "cocoon-disk", usage);

			if (done != CLI_CONTINUE)
				return done;
			break;
		}
		}
	}
	if (optind >= argc) {
		log_error("no command (probe, open, status, close; see cocoon-disk --help)");
		return EXIT_USAGE;
	}
	cmd = argv[optind++];
	nargs = argc - optind;
	if (!strcmp(cmd, "probe") && nargs == 1)
		return cmd_probe(argv[optind]);
	if (!strcmp(cmd, "open") && (nargs == 1 || nargs == 2))
		return cmd_open(argv[optind], nargs == 2 ? argv[optind + 1] : NULL, key_file,
		                no_format);
	if (!strcmp(cmd, "status") && nargs == 1)
		return cmd_status(argv[optind]);
	if (!strcmp(cmd, "close") && nargs == 1)
		return cmd_close(argv[optind]);
	log_error("bad command line: '%s' with %d argument%s (see cocoon-disk --help)", cmd, nargs,
	          nargs == 1 ? "" : "s");
	return EXIT_USAGE;
}
