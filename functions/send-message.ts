import { makeSendMessage, relayedToEu } from '#layers/core/use-cases/send-messages.ts';
import { loadSettings } from '#layers/declaration.ts';
import { endpointJurisdiction, type TenantEvent, tenantRoute } from '#layers/http/handler.ts';
import { readSendMessage } from '#layers/http/send-request.ts';
import { countMessages, recordLatency } from '#layers/telemetry.ts';
import { admittedAlongside, euRelay, ownJurisdiction, recordAudit, sendDeps } from '#layers/wiring.ts';
import { declaration } from './send-message.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const sendMessage = makeSendMessage(sendDeps());

export const handler = tenantRoute(
  'send',
  admittedAlongside(async (event: TenantEvent, tenant, admitted) => {
    const started = performance.now();
    const { key, input } = readSendMessage(event);
    const endpoint = endpointJurisdiction(event, ownJurisdiction());
    // Forward residency: an EU/EEA subject at the global endpoint goes to the EU API as it came.
    if (relayedToEu(tenant, endpoint, input.to)) return admitted.then(() => euRelay()(event));
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
  }),
  { audit: recordAudit },
);
