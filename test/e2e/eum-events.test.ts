import type { SNSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DECLARATIONS } from '../../infra/declarations.ts';
import type { RunningGateway } from '../../infra/local/gateway.ts';
import { clearDeclaredSettings } from '../../layers/config.ts';
import { relayCarrierToken } from '../../layers/core/api-keys.ts';
import { settingsOf } from '../../layers/declaration.ts';
import { settingSpec } from '../../layers/settings.ts';
import { client, deliveredMessage, expectProblem, onboard, waitFor } from '../support/http.ts';
import { everyQueue, recordQueuedMessages, startTestGateway } from '../support/local-gateway.ts';

/**
 * Issue 14, item 5: End User Messaging publishes a person's reply (number and words) and its
 * delivery events (the recipient's number) to an SNS topic, whose one subscriber is the
 * receive-eum-events function, never a queue. The local runtime runs no SNS: here the function's
 * handler runs in this process with the global region's environment (the same as the carrier
 * webhook's: the same declared needs), against the local gateway's real tables, queues, keys and
 * IAM, and is handed SNS events shaped as the End User Messaging and Lambda documentation shows.
 */
let gateway: RunningGateway;
let api: ReturnType<typeof client>;
let euApi: ReturnType<typeof client>;
const saved = { ...process.env };

type Message = { id: string; status: string };
type Reply = { from: string; body: string | null; action: string | null };

beforeAll(async () => {
  gateway = await startTestGateway('eum', { authorizerCacheSeconds: 1 });
  api = client(gateway.url);
  euApi = client(gateway.euUrl);
});

afterAll(async () => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
  clearDeclaredSettings();
  await gateway?.stop();
});

/** An SNS notification to a Lambda subscriber, carrying what End User Messaging published. */
function snsEvent(published: Record<string, unknown>): SNSEvent {
  const topicArn = 'arn:aws:sns:us-east-1:123456789012:CarrierEventsTopic';
  return {
    Records: [
      {
        EventVersion: '1.0',
        EventSubscriptionArn: `${topicArn}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55`,
        EventSource: 'aws:sns',
        Sns: {
          SignatureVersion: '1',
          Timestamp: new Date().toISOString(),
          Signature: 'EXAMPLE',
          SigningCertUrl: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-EXAMPLE.pem',
          MessageId: crypto.randomUUID(),
          Message: JSON.stringify(published),
          MessageAttributes: {},
          Type: 'Notification',
          UnsubscribeUrl: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}`,
          TopicArn: topicArn,
          Subject: '',
        },
      },
    ],
  };
}

describe("End User Messaging's replies and delivery events", () => {
  it("are handled (an EU/EEA number's relayed to the EU region) with no number and no words on any queue or DLQ", async () => {
    const t = await onboard(api, gateway.adminToken, { name: 'EumQueues', residency: 'forward' });
    const us = '+12025550183';
    const de = '+4915123450183';
    const recorded = recordQueuedMessages(gateway);
    const sent: Record<string, string> = {};
    for (const [c, to] of [
      [api, us],
      [euApi, de],
    ] as const) {
      const res = await c.call<{ message: Message }>('POST', '/v1/messages', {
        key: t.key,
        body: { to, from: 'Acme', body: 'Vertrauliche Nachricht' },
      });
      expect(res.status).toBe(202);
      sent[to] = res.body.message.id;
      await deliveredMessage(c, t.key, res.body.message.id);
    }

    // The function, loaded as Lambda loads it, with the global region's environment.
    const env = [...gateway.functions.values()].find(
      (f) => f.jurisdiction === 'global' && f.path.split('/').includes('carrier-inbound'),
    )!.fn.spec.env;
    const needed = settingsOf(DECLARATIONS['receive-eum-events'], 'global').filter(
      (s) => !settingSpec(s).localOnly && s in env,
    );
    expect(
      Object.keys(env)
        .filter((k) => needed.includes(k as never))
        .sort(),
    ).toEqual(needed.sort());
    for (const [k, v] of Object.entries(env)) process.env[k] = v;
    const { handler } = await import('../../functions/messages/receive-eum-events.ts');
    const invoke = (published: Record<string, unknown>) =>
      (handler as unknown as (e: SNSEvent, c: unknown) => Promise<void>)(snsEvent(published), {});

    // Two people answer, as End User Messaging publishes a two-way reply.
    const replies = [
      [us, 'STOP Geheimwort'],
      [de, 'STOP Kennwort'],
    ] as const;
    for (const [i, [from, words]] of replies.entries()) {
      await invoke({
        originationNumber: from,
        destinationNumber: 'Acme',
        messageKeyword: 'KEYWORD_123456789012',
        messageBody: words,
        inboundMessageId: `eum-in-${i}-${Date.now()}`,
        previousPublishedMessageId: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      });
    }
    // A delivery event, as the configuration set publishes it (with the recipient's number).
    await invoke({
      eventType: 'TEXT_DELIVERED',
      eventVersion: '1.0',
      eventTimestamp: Date.now(),
      isFinal: true,
      originationPhoneNumber: '+12065550152',
      destinationPhoneNumber: us,
      isInternationalSend: false,
      messageId: `eum-out-${Date.now()}`,
      messageRequestTimestamp: Date.now() - 1000,
      messageEncoding: 'GSM',
      messageType: 'TRANSACTIONAL',
      messageStatus: 'DELIVERED',
      messageStatusDescription: 'Message has been accepted by phone',
      totalMessageParts: 1,
      totalMessagePrice: 0.00581,
      totalCarrierFee: 0.00767,
      context: { tenantId: t.tenantId, gatewayMessageId: sent[us], jurisdiction: 'global' },
    });

    // Each reply is stored where its sender's data belongs: the US number's here, the German
    // number's in the EU region only (relayed to its carrier webhook).
    const inbound = (c: ReturnType<typeof client>) =>
      c.call<{ data: Reply[] }>('GET', '/v1/inbound', { key: t.key }).then((r) => r.body.data);
    const stopped = await waitFor(async () => {
      const [here, eu] = [await inbound(api), await inbound(euApi)];
      return here.some((r) => r.from === us && r.action === 'opt_out') &&
        eu.some((r) => r.from === de && r.action === 'opt_out')
        ? { here, eu }
        : undefined;
    }, 'both STOP replies');
    expect(stopped.here.map((r) => r.from)).not.toContain(de);
    expect(stopped.eu.find((r) => r.from === de)?.body).toBe('STOP Kennwort');
    recorded.stop();

    const raw = [...recorded.bodies, ...(await everyQueue(gateway))].join('\n');
    // The messages went through the queues, by id.
    for (const id of Object.values(sent)) expect(raw).toContain(id);
    for (const text of [us, us.slice(1), de, de.slice(1), 'Geheimwort', 'Kennwort', 'Vertrauliche']) {
      expect(raw, text).not.toContain(text);
    }

    // The relay token opens the EU region's carrier webhook only: the global one refuses it.
    const { pepper } = await import('../../layers/wiring.ts');
    const relayed = {
      from: us,
      to: 'Acme',
      body: 'HELP',
      carrierMessageId: `relay-${Date.now()}`,
      receivedAt: new Date().toISOString(),
    };
    const token = relayCarrierToken(await pepper());
    expectProblem(
      await api.call('POST', '/carrier/v1/inbound', { token, body: relayed }),
      401,
      'unauthorized',
    );
    expect((await euApi.call('POST', '/carrier/v1/inbound', { token, body: relayed })).status).toBe(202);
  }, 180_000);
});
