/* evlog.h - the TDX event log and RTMR replay.
 *
 * Each measurement the guest makes into RTMR3 is also written, as one line of
 * printable ASCII, to a text event log (Cocoon: /var/log/tdx-attestation.log).
 * A verifier replays the log from 48 zero bytes with
 * RTMR = SHA384(RTMR || SHA384(message)) and compares the result with RTMR3 in
 * the quote; a log that does not replay to the measured value is worthless,
 * so messages are restricted to what survives a text file unambiguously.
 */
#ifndef COCOON_EVLOG_H
#define COCOON_EVLOG_H

#include <stddef.h>
#include <stdint.h>

#include "cocoon/err.h"

#define RTMR_LEN 48
#define EVLOG_MSG_MAX 4096        /* bytes per message, newline excluded */
#define EVLOG_FILE_MAX (1u << 20) /* a log larger than this is refused on replay */

/* 0 when msg is 1..EVLOG_MSG_MAX bytes of 0x20..0x7e, else -EINVAL saying why. */
int evlog_check_message(const char *msg, struct cerr *err);

/* rtmr = SHA384(rtmr || SHA384(msg)). Does not check msg: see evlog_check_message(). */
int rtmr_extend(uint8_t rtmr[RTMR_LEN], const char *msg, struct cerr *err);

/* Appends msg and '\n' with a single O_APPEND write, so that concurrent writers
 * never interleave inside a line; creates the file (mode 0644) if missing. */
int evlog_append(const char *path, const char *msg, struct cerr *err);

/* Replays the log at path into rtmr (starting from zero) and counts its lines.
 * Rejects a line that is empty, too long or not printable ASCII (naming its line
 * number) and a log whose last line lacks its newline. */
int evlog_replay(const char *path, uint8_t rtmr[RTMR_LEN], size_t *count, struct cerr *err);
/* The same on size bytes in memory (at most EVLOG_FILE_MAX). */
int evlog_replay_buf(const char *data, size_t size, uint8_t rtmr[RTMR_LEN], size_t *count,
                     struct cerr *err);

#endif
