import type { TenantContext } from '#layers/core/model.ts';
import { loadSettings } from '#layers/declaration.ts';
import { euRelay, tenantGuards } from '#layers/http/guards.ts';
import { endpointJurisdiction, idempotencyKeyFrom, type TenantEvent } from '#layers/http/handler.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { countMessages, recordLatency } from '#layers/telemetry.ts';
import { ownJurisdiction } from '#layers/wiring.ts';
import { declaration } from './send-message.def.ts';
import { readSendMessage } from './send-request.ts';
import { makeSendMessage, relayedToEu } from './use-cases/send-messages.ts';
import { sendDeps } from './wiring.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const sendMessage = makeSendMessage(sendDeps());

/** Forward residency: an EU/EEA subject at the global endpoint goes to the EU API as it came. */
const relayed = (input: { to: string }, event: TenantEvent, tenant: TenantContext) =>
  relayedToEu(tenant, endpointJurisdiction(event, ownJurisdiction()), input.to);

export const operations = {
  sendMessage: {
    // The Idempotency-Key is read with the body, so a bad header and a bad field are one 422.
    readBody: (event) => readSendMessage(event).input,
    // The rate limit is decided while the send's reads and counts run; nothing is stored before it.
    admitAlongside: true,
    // A relayed send is admitted by the EU API alone (it answers 429 itself): counted once.
    relays: ({ body }, event, tenant) => relayed(body, event, tenant),
    handle: async ({ body: input, event, tenant, admitted }) => {
      const started = performance.now();
      const key = idempotencyKeyFrom(event);
      const endpoint = endpointJurisdiction(event, ownJurisdiction());
      if (relayed(input, event, tenant)) return euRelay()(event);
      const { result, replayed } = await sendMessage(tenant, input, endpoint, key, admitted);
      if (!replayed) {
        countMessages(result.message.status === 'quarantined' ? 'Quarantined' : 'Accepted');
        recordLatency('AcceptLatency', performance.now() - started);
      }
      return {
        status: 202,
        body: result,
        headers: {
          location: `/v1/messages/${result.message.id}`,
          ...(replayed ? { 'idempotent-replayed': 'true' } : {}),
        },
      };
    },
  },
} satisfies Operations<'send-message'>;

export const handler = operationsHandler('send-message', operations, { guards: tenantGuards });
