/* cocoon-verify - the host's and the owner's verifier of TEE evidence.
 *
 *   cocoon-verify quote FILE --collateral FILE [--now TIME] [--json]
 *   cocoon-verify cvm ...
 *
 * Each subcommand is a file of its own (verify.h); this one dispatches.
 */
#include <stdio.h>
#include <string.h>

#include "cocoon/cli.h"
#include "cocoon/dcap.h"
#include "cocoon-config.h"
#include "verify.h"

int verify_parse_now(const char *sub, const char *arg, time_t *now)
{
	if (dcap_parse_time(arg, now) == 0)
		return 0;
	fprintf(stderr, "cocoon-verify %s: --now '%s': not RFC 3339 or Unix seconds\n", sub, arg);
	return -1;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: cocoon-verify COMMAND [ARGS]\n"
	           "\n"
	           "Commands:\n"
	           "  quote FILE --collateral FILE [--now TIME] [--json]\n"
	           "             verify one Intel DCAP quote (SGX v3, TDX v4/v5) against its\n"
	           "             collateral (or --pccs URL [--cache DIR]) at TIME\n"
	           "  cvm ...    the owner's check of one running CVM from its evidence\n"
	           "\n"
	           "`cocoon-verify COMMAND --help` describes each.\n"
	           "\n"
	           "Exit status: 0 verified, 1 a check failed (the message names it),\n"
	           "2 usage error, 3 system error.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return VERIFY_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "quote"))
		return cocoon_verify_quote(argc - 1, argv + 1);
	if (!strcmp(cmd, "cvm"))
		return cocoon_verify_cvm(argc - 1, argv + 1);
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("cocoon-verify %s\n", COCOON_VERSION);
		return 0;
	}
	fprintf(stderr, "cocoon-verify: unknown command '%s'\n", cmd);
	usage(stderr);
	return VERIFY_EXIT_USAGE;
}
