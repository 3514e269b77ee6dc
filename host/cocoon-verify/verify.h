/* verify.h - cocoon-verify's subcommands, one file each.
 *
 * main.c parses the command word and hands argv (argv[0] = the subcommand's
 * name) to the subcommand; each returns the exit status: 0 verified, 1 a
 * check failed, 2 usage, 3 system error.
 */
#ifndef COCOON_VERIFY_H
#define COCOON_VERIFY_H

#include <time.h>

enum { VERIFY_EXIT_OK = 0, VERIFY_EXIT_FAILED = 1, VERIFY_EXIT_USAGE = 2, VERIFY_EXIT_SYSTEM = 3 };

/* cocoon-verify quote FILE --collateral FILE|--pccs URL [--now TIME] [--json] (quote.c) */
int cocoon_verify_quote(int argc, char **argv);
/* cocoon-verify cvm ...: the owner's check of one CVM (cvm.c) */
int cocoon_verify_cvm(int argc, char **argv);

/* --now TIME of subcommand SUB (RFC 3339 or Unix seconds) into *now; prints
 * the usage error naming SUB and returns -1 when TIME is neither (main.c) */
int verify_parse_now(const char *sub, const char *arg, time_t *now);

#endif
