import { makeSendMessage, relayedToEu } from '#layers/core/use-cases/send-messages.ts';
import { loadSettings } from '#layers/declaration.ts';
import { endpointJurisdiction, tenantRoute } from '#layers/http/handler.ts';
import { readSendMessage } from '#layers/http/send-request.ts';
import { countMessages, recordLatency } from '#layers/telemetry.ts';
import { euRelay, ownJurisdiction, sendDeps, tenantGuards } from '#layers/wiring.ts';
import { declaration } from './send-message.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const sendMessage = makeSendMessage(sendDeps());

export const handler = tenantRoute(
  'send',
  async (event, tenant) => {
    const started = performance.now();
    const { key, input } = readSendMessage(event);
    const endpoint = endpointJurisdiction(event, ownJurisdiction());
    // Forward residency: an EU/EEA subject at the global endpoint goes to the EU API as it came.
    if (relayedToEu(tenant, endpoint, input.to)) return euRelay()(event);
    const { result, replayed } = await sendMessage(tenant, input, endpoint, key);
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
  tenantGuards,
);
