/* cocoon-egress - the egress firewall of the workload spec.
 *
 *   cocoon-egress --spec DIR [--print] [--nft PATH]
 *
 * Builds the nftables ruleset from DIR/docker-compose.yml's x-cocoon.egress
 * (lib/egress.c: policy drop for new outbound connections on the output and
 * forward hooks, loopback and established traffic allowed, each rule's
 * addresses and ports allowed; host names resolved once, now, through the
 * VM's resolver, which the host controls) and applies it atomically with
 * `nft -f`, or prints it with --print. cocoon-init runs it before the engine
 * starts (ARCHITECTURE.md §3 step 7). Any failure leaves the previous ruleset
 * in place and exits non-zero, so the boot stops.
 *
 * Exit codes: 0 applied (or printed), 1 spec or rule refused (or a host does
 * not resolve), 2 usage error, 3 system error (nft failed).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cocoon-config.h"
#include "cocoon/buf.h"
#include "cocoon/compose.h"
#include "cocoon/egress.h"
#include "cocoon/cli.h"
#include "cocoon/log.h"

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_SYSTEM = 3 };

static void usage(FILE *f)
{
	fprintf(f, "Usage: cocoon-egress --spec DIR [--print] [--nft PATH]\n"
	           "\n"
	           "Applies the egress firewall of the workload spec DIR/docker-compose.yml\n"
	           "(x-cocoon.egress) as one nftables transaction (see docs/docker-mode.md).\n"
	           "\n"
	           "  --spec DIR    the measured spec directory (required)\n"
	           "  --print       print the ruleset instead of applying it\n"
	           "  --nft PATH    the nft program (default: nft on PATH)\n"
	           "  -h, --help    -V, --version\n"
	           "\n"
	           "Exit status: 0 applied or printed, 1 spec or rule refused (a host that\n"
	           "does not resolve included), 2 usage error, 3 nft or system error.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"spec", required_argument, NULL, 's'}, {"print", no_argument, NULL, 'p'},
	    {"nft", required_argument, NULL, 'n'},  {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},    {NULL, 0, NULL, 0},
	};
	const char *spec_dir = NULL, *nft = "nft";
	struct compose_spec spec = {0};
	struct cerr err = CERR_INIT;
	struct wbuf w;
	bool print = false;
	int c, r;

	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "hV", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			spec_dir = optarg;
			break;
		case 'p':
			print = true;
			break;
		case 'n':
			nft = optarg;
			break;
		default: {
			int done = cli_common_option(c, "cocoon-egress", usage);

			if (done != CLI_CONTINUE)
				return done;
			break;
		}
		}
	}
	if (!spec_dir || optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	r = compose_load_dir(spec_dir, NULL, &spec, &err);
	if (r < 0) {
		log_error("workload spec %s: %s", spec_dir, err.msg);
		return r == -EINVAL ? EXIT_REFUSED : EXIT_SYSTEM;
	}
	if (!print) {
		enum egress_stage stage = 0;

		r = egress_setup(&spec, egress_resolve_system, nft, &stage, &err);
		compose_spec_free(&spec);
		if (r < 0) {
			log_cerr(&err);
			return stage == EGRESS_STAGE_APPLY ? EXIT_SYSTEM : EXIT_REFUSED;
		}
		return 0;
	}
	wbuf_init(&w, 1024 * 1024);
	r = egress_ruleset(&spec, egress_resolve_system, &w, &err);
	compose_spec_free(&spec);
	if (r < 0) {
		log_cerr(&err);
		wbuf_free(&w);
		return EXIT_REFUSED;
	}
	fwrite(w.p, 1, w.len, stdout);
	wbuf_free(&w);
	return 0;
}
