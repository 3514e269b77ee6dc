// dcap_peer.js QUOTE COLLATERAL UNIX_SECONDS: the peer verifier, npm
// @phala/dcap-qvl (pure JavaScript), on the same files cocoon-verify reads.
// Prints one JSON line: {status, advisory_ids} or {error}. Found through
// NODE_PATH (tests/integration/dcap_cases.py installs it).
'use strict';
const fs = require('fs');
const { verify } = require('@phala/dcap-qvl');

const [quotePath, colPath, now] = process.argv.slice(2);
const quote = fs.readFileSync(quotePath);
const c = JSON.parse(fs.readFileSync(colPath, 'utf8'));
const col = { ...c };
for (const k of ['root_ca_crl', 'pck_crl', 'tcb_info_signature', 'qe_identity_signature'])
  col[k] = Buffer.from(c[k], 'hex');
const n = Number(process.argv[5] || 1);
try {
  let r;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) r = verify(quote, col, Number(now));
  const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
  console.log(JSON.stringify({ status: r.status, advisory_ids: r.advisory_ids, us_per_verify: us }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e && e.message ? e.message : e) }));
}
