/* egress.h - the VM's egress firewall from the workload spec's
 * `x-cocoon.egress` (ARCHITECTURE.md §3 step 7), as one nftables ruleset.
 *
 * Table `inet cocoon_egress`: base chains on the output hook (the VM's own
 * processes) and the forward hook (containers behind the engine's bridge),
 * both with policy drop. Allowed: loopback, packets of established or
 * related connections, new connections the engine's port publishing DNATs
 * inward (`ct status dnat`: from outside on forward, from the VM's own
 * processes on output), and new connections to each
 * rule's addresses and ports. A drop in any nftables base chain is final, so
 * the engine's own accept rules in other tables cannot open a path this table
 * drops.
 *
 * Nothing from the spec reaches the ruleset as text: CIDRs are parsed and
 * printed back from their binary form, host names are resolved (once, now)
 * and only the addresses are printed. DNS is host-controlled: the host
 * decides which addresses a name resolves to.
 *
 * The ruleset replaces the table atomically: `nft -f` applies a file as one
 * transaction, and the file starts by creating and deleting the table.
 */
#ifndef COCOON_EGRESS_H
#define COCOON_EGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "cocoon/buf.h"
#include "cocoon/compose.h"
#include "cocoon/err.h"

#define EGRESS_TABLE "cocoon_egress"
#define EGRESS_MAX_ADDRS 64 /* addresses one host name may resolve to */

struct egress_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t a[16];
	unsigned prefix;
};

/* Resolves a host name to at most max addresses; returns how many (> 0) or
 * -errno with err set. egress_resolve_system() uses getaddrinfo(). */
typedef int (*egress_resolve_fn)(const char *host, struct egress_addr *out, size_t max,
                                 struct cerr *err);
int egress_resolve_system(const char *host, struct egress_addr *out, size_t max, struct cerr *err);

/* Parses "ADDR/PREFIX" or "ADDR" (a host route). Returns 0 or -EINVAL. */
int egress_parse_cidr(const char *s, struct egress_addr *out);

/* Writes the ruleset text for spec's egress rules into w. */
int egress_ruleset(const struct compose_spec *spec, egress_resolve_fn resolve, struct wbuf *w,
                   struct cerr *err);

/* Writes the ruleset to a private temporary file and runs `nft -f` on it
 * (nft: a path or a name on PATH). */
int egress_apply(const char *nft, const char *ruleset, size_t len, struct cerr *err);

/* Where egress_setup() failed: building the ruleset (a rule refused, a host
 * that does not resolve) or applying it (nft missing, refused, timed out). */
enum egress_stage { EGRESS_STAGE_RULESET = 1, EGRESS_STAGE_APPLY };

/* The whole job of cocoon-egress and of cocoon-init's step 7: builds spec's
 * ruleset (host names resolved through resolve) and applies it with
 * egress_apply(). On failure nothing was applied and *stage (if not NULL)
 * says which part failed. */
int egress_setup(const struct compose_spec *spec, egress_resolve_fn resolve, const char *nft,
                 enum egress_stage *stage, struct cerr *err);

#endif
