import { ServiceUnavailableError } from '#layers/core/errors.ts';
import type { TenantContext } from '#layers/core/model.ts';
import { loadSettings } from '#layers/declaration.ts';
import { euRelay, tenantGuards } from '#layers/http/guards.ts';
import { endpointJurisdiction, idempotencyKeyFrom, type TenantEvent } from '#layers/http/handler.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { toProblem } from '#layers/http/problems.ts';
import { type BatchAnswerItem, euPartKey, mergeEuPart } from '#layers/http/relay.ts';
import { present } from '#layers/present.ts';
import { countMessages, countRefusal } from '#layers/telemetry.ts';
import { ownJurisdiction } from '#layers/wiring.ts';
import { declaration } from './send-batch.def.ts';
import { parseSendRequest, readSendBatch } from './send-request.ts';
import { itemError, makeSendBatch, relayedToEu } from './use-cases/send-messages.ts';
import { sendDeps } from './wiring.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const sendBatch = makeSendBatch(sendDeps());

/** Each item read on its own, so one bad item never sinks the others. */
const itemsOf = (messages: readonly unknown[]) =>
  messages.map((raw, index) => {
    const item = parseSendRequest(raw, `/messages/${index}`);
    return item.ok ? { ok: true as const, input: item.value } : item;
  });

/** Forward residency: a batch of EU/EEA subjects only goes to the EU API as it came. */
const relayedWhole = (items: ReturnType<typeof itemsOf>, event: TenantEvent, tenant: TenantContext) => {
  const endpoint = endpointJurisdiction(event, ownJurisdiction());
  return items.every((i) => i.ok && relayedToEu(tenant, endpoint, i.input.to));
};

export const operations = {
  sendMessageBatch: {
    // The Idempotency-Key is read with the list, so a bad header and a bad field are one 422.
    readBody: (event) => readSendBatch(event).batch,
    // A batch relayed whole is admitted by the EU API alone (it answers 429 itself): counted once.
    relays: ({ body: batch }, event, tenant) => relayedWhole(itemsOf(batch.messages), event, tenant),
    handle: async ({ body: batch, event, tenant }) => {
      const key = idempotencyKeyFrom(event);
      const messages = batch.messages;
      const items = itemsOf(messages);
      const endpoint = endpointJurisdiction(event, ownJurisdiction());
      if (relayedWhole(items, event, tenant)) return euRelay()(event);
      const { result, replayed } = await sendBatch(tenant, items, endpoint, key);
      // A mixed one: its EU items go there as one batch, their answers come back to their places.
      const places = result.results.filter((r) => r.status === 'relayed').map((r) => r.index);
      const fromEu = new Map<number, BatchAnswerItem>();
      let euReplayed = true;
      if (places.length > 0) {
        const answer = await euRelay()(event, {
          body: JSON.stringify({ messages: places.map((i) => messages[i]) }),
          idempotencyKey: key === undefined ? undefined : euPartKey(key),
        }).catch((error: unknown) => {
          if (error instanceof ServiceUnavailableError) return error;
          throw error;
        });
        euReplayed = !(answer instanceof Error) && answer.headers['idempotent-replayed'] === 'true';
        for (const item of mergeEuPart(places, answer)) fromEu.set(item.index, item);
      }
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
      const results = result.results.map((r) =>
        r.status === 'relayed'
          ? present(fromEu.get(r.index), `the EU region's answer for message ${r.index}`)
          : r.status === 'accepted'
            ? r
            : { index: r.index, status: r.status, problem: toProblem(itemError(r)).body },
      );
      const accepted = results.filter((r) => r.status === 'accepted').length;
      return {
        status: 200,
        body: { accepted, rejected: results.length - accepted, results },
        headers: replayed && euReplayed ? { 'idempotent-replayed': 'true' } : undefined,
      };
    },
  },
} satisfies Operations<'send-batch'>;

export const handler = operationsHandler('send-batch', operations, { guards: tenantGuards });
