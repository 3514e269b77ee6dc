/* cli.h - the command-line options every program shares.
 *
 * -q/--quiet (errors only), -v/--verbose (debug), -h/--help, -V/--version,
 * and what getopt reports for an unknown option: handled the same way in
 * every program, so that each main() only parses its own options.
 */
#ifndef COCOON_CLI_H
#define COCOON_CLI_H

#include <stdio.h>

/* Returned when the option was handled and parsing goes on. */
#define CLI_CONTINUE (-1)
/* The exit status of a usage error in every program. */
#define CLI_EXIT_USAGE 2

/* Handles getopt's result c when it is one of the shared options: returns
 * CLI_CONTINUE, or the status main() returns now (0 after --help or
 * --version; CLI_EXIT_USAGE, with the usage on stderr, for anything else). */
int cli_common_option(int c, const char *prog, void (*usage)(FILE *));

struct json_object;
struct cerr;

/* --json output: prints o on stdout (pretty, '/' unescaped) and releases it. */
void cli_print_json(struct json_object *o);
/* --json output of a failure: {"ok": false, "error": err's message}. */
void cli_print_error_json(const struct cerr *err);

/* Parses the whole of s as a decimal number from min to max: no white space,
 * no '+', a '-' only when min < 0, nothing after the digits. 0 or -EINVAL. */
int cli_parse_long(const char *s, long min, long max, long *out);

#endif
