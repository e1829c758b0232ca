import { itemError, makeSendBatch } from '#layers/core/use-cases/send-messages.ts';
import { loadSettings } from '#layers/declaration.ts';
import { endpointJurisdiction, tenantRoute } from '#layers/http/handler.ts';
import { toProblem } from '#layers/http/problems.ts';
import { parseSendRequest, readSendBatch } from '#layers/http/send-request.ts';
import { countMessages, countRefusal } from '#layers/telemetry.ts';
import { ownJurisdiction, sendDeps, tenantGuards } from '#layers/wiring.ts';
import { declaration } from './send-batch.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const sendBatch = makeSendBatch(sendDeps());

export const handler = tenantRoute(
  'send',
  async (event, tenant) => {
    const { key, batch } = readSendBatch(event);
    // Each item is checked on its own, so one bad item never sinks the others.
    const items = batch.messages.map((raw, index) => {
      const item = parseSendRequest(raw, `/messages/${index}`);
      return item.ok ? { ok: true as const, input: item.value } : item;
    });
    const { result, replayed } = await sendBatch(
      tenant,
      items,
      endpointJurisdiction(event, ownJurisdiction()),
      key,
    );
    if (!replayed) {
      const quarantined = result.results.filter(
        (r) => r.status === 'accepted' && r.message.status === 'quarantined',
      ).length;
      countMessages('Accepted', result.accepted - quarantined);
      countMessages('Quarantined', quarantined);
      for (const r of result.results) {
        if (r.status === 'rejected' && r.reason !== 'unavailable') {
          countRefusal(r.reason === 'refused' ? r.refusal.reason : r.reason);
        }
      }
    }
    return {
      status: 200,
      body: {
        accepted: result.accepted,
        rejected: result.rejected,
        results: result.results.map((r) =>
          r.status === 'accepted'
            ? r
            : { index: r.index, status: r.status, problem: toProblem(itemError(r)).body },
        ),
      },
      headers: replayed ? { 'idempotent-replayed': 'true' } : undefined,
    };
  },
  tenantGuards,
);
