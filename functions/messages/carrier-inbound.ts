import { timingSafeEqual } from 'node:crypto';
import { bearerToken, CARRIER_TOKEN_SECRET, hashApiKey, relayCarrierToken } from '#layers/core/api-keys.ts';
import { UnauthorizedError } from '#layers/core/errors.ts';
import { isEuSubject } from '#layers/core/residency.ts';
import { loadSettings } from '#layers/declaration.ts';
import { euRelay } from '#layers/http/guards.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { ownJurisdiction, pepper, secretStore } from '#layers/wiring.ts';
import { declaration } from './carrier-inbound.def.ts';
import { receiveInbound } from './wiring.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const sameBytes = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

/** The carrier token the operator issued, or (EU region) the global region's End User Messaging relay's. */
async function authenticate(header: string | undefined) {
  const token = bearerToken(header);
  if (!token) throw new UnauthorizedError('A valid carrier token is required.');
  const key = await pepper();
  if (ownJurisdiction() === 'eu' && sameBytes(Buffer.from(token), Buffer.from(relayCarrierToken(key))))
    return;
  const stored = await secretStore().getWrapped(CARRIER_TOKEN_SECRET);
  if (!stored || !sameBytes(Buffer.from(hashApiKey(key, token)), Buffer.from(stored))) {
    throw new UnauthorizedError('A valid carrier token is required.');
  }
}

/**
 * A carrier reports a person's reply, and it is handled at once: routed to the tenant that texted
 * the person, stored sealed, answered. Nothing of it is queued in clear (a queue carries ids only);
 * a failure answers 5xx and the carrier reports it again, which changes nothing twice (every id is
 * derived from the carrier's message id). The global region relays an EU/EEA number's reply to
 * the EU endpoint as it came (the carrier token is the same there: the tenants table is
 * replicated), and answers with its answer.
 */
export const operations = {
  carrierInbound: async ({ body, event }) => {
    if (ownJurisdiction() === 'global' && isEuSubject(body.from)) return euRelay()(event);
    await receiveInbound()({ kind: 'inbound', ...body });
    return { status: 202, body: { accepted: true } };
  },
} satisfies Operations<'carrier-inbound'>;

// The carrier's token is checked before anything of the request is read.
export const handler = operationsHandler('carrier-inbound', operations, {
  authenticate: (event) => authenticate(event.headers.authorization),
});
