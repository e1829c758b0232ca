import { CreateKeyCommand, DecryptCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  ensureQueue,
  ensureSystemKey,
  ensureTable,
  SANDBOX_LEDGER_TABLE,
} from '../../infra/local/provision.ts';
import { QUEUES } from '../../infra/resources.ts';
import { KmsKeyService } from '../../layers/adapters/kms-key-service.ts';
import { DynamoDbSandboxLedger, SandboxCarrier } from '../../layers/adapters/sandbox-carrier.ts';
import { SqsDispatchQueue } from '../../layers/adapters/sqs-dispatch-queue.ts';
import { SqsWebhookRetries } from '../../layers/adapters/sqs-webhook-queue.ts';
import { CarrierRejectedError } from '../../layers/core/errors.ts';
import type { CarrierSendRequest } from '../../layers/ports/index.ts';
import { localClients, uniqueName } from '../support/aws.ts';

const { sqs, kms, dynamodb } = localClients();

describe('SqsDispatchQueue on the local SQS', () => {
  it('enqueues references in batches of ten, carrying no number or body', async () => {
    const { url } = await ensureQueue(sqs, uniqueName('dispatch'), QUEUES.dispatch, 30);
    const queue = new SqsDispatchQueue(sqs, url);
    const refs = Array.from({ length: 25 }, (_, i) => ({
      tenantId: 'ten_A',
      messageId: `msg_${i}`,
      jurisdiction: 'global' as const,
    }));
    await expect(queue.enqueue(refs)).resolves.toEqual({ failed: [] });
    const bodies: string[] = [];
    for (let i = 0; i < 10 && bodies.length < 25; i++) {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
      bodies.push(...(out.Messages ?? []).map((m) => m.Body!));
    }
    expect(bodies.map((b) => JSON.parse(b).messageId).sort()).toEqual(refs.map((r) => r.messageId).sort());
    expect(Object.keys(JSON.parse(bodies[0]!))).toEqual(['tenantId', 'messageId', 'jurisdiction']);
  });

  it('reports every message id of a batch the queue refused', async () => {
    const queue = new SqsDispatchQueue(sqs, `${localClients().services.sqs}/000000000000/does-not-exist`);
    const out = await queue.enqueue([{ tenantId: 'ten_A', messageId: 'msg_1', jurisdiction: 'global' }]);
    expect(out.failed).toEqual(['msg_1']);
  });
});

describe('SqsWebhookRetries on the local SQS', () => {
  const receive = async (url: string) =>
    (await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }))).Messages ?? [];

  it('holds a delivery out of sight until its time, queues its next attempt delayed, and dead-letters only its reference', async () => {
    // A 1 s visibility timeout: a received record that is not held comes back after a second.
    const { url } = await ensureQueue(sqs, uniqueName('webhooks'), QUEUES.webhooks, 1);
    const { url: dlqUrl } = await ensureQueue(sqs, uniqueName('webhooks-dlq'), QUEUES.webhooks, 30);
    const retries = new SqsWebhookRetries(sqs, url, dlqUrl);
    const delivery = { deliveryId: 'wev_1', endpointId: 'whk_1', tenantId: 'ten_A', attempt: 2 };

    // The next attempt is delayed: not receivable at once.
    await retries.retry(delivery as never, 2);
    expect(await receive(url)).toEqual([]);
    // Held: received once, then out of sight for the time asked.
    await new Promise((r) => setTimeout(r, 2_500));
    const [first] = await receive(url);
    expect(JSON.parse(first?.Body ?? '{}')).toEqual(delivery);
    await retries.hold(first?.ReceiptHandle ?? '', 60);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await receive(url)).toEqual([]);

    await retries.deadLetter({ deliveryId: 'wev_1', attempts: 3, reason: 'HTTP 500' });
    const [dead] = await receive(dlqUrl);
    expect(JSON.parse(dead?.Body ?? '{}')).toEqual({ deliveryId: 'wev_1', attempts: 3, reason: 'HTTP 500' });
  });
});

describe('the sandbox carrier on DynamoDB Local and the local SQS', () => {
  it('reports again the receipt of a message it took, as it first did, and nothing for one it did not take', async () => {
    const table = uniqueName('ledger');
    await ensureTable(dynamodb, table, SANDBOX_LEDGER_TABLE);
    const { url } = await ensureQueue(sqs, uniqueName('events'), QUEUES.carrierEvents, 30);
    const carrier = new SandboxCarrier({
      sqs,
      eventsQueueUrl: url,
      jurisdiction: 'global',
      ledger: new DynamoDbSandboxLedger(dynamodb, table),
    });
    const request = (messageId: string, to: string, body = 'Hi'): CarrierSendRequest => ({
      messageId,
      tenantId: 'ten_A',
      to,
      from: 'Acme',
      body,
      category: 'transactional',
    });
    // The carrier as the restarted runtime has it: the same ledger, reporting to a queue of its
    // own here, so its reports are never confused with the first ones whatever the machine's load.
    const again = await ensureQueue(sqs, uniqueName('events-again'), QUEUES.carrierEvents, 30);
    const restarted = new SandboxCarrier({
      sqs,
      eventsQueueUrl: again.url,
      jurisdiction: 'global',
      ledger: new DynamoDbSandboxLedger(dynamodb, table),
    });
    const receive = async (queueUrl = url) => {
      const out = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      return (out.Messages ?? []).map((m) => JSON.parse(m.Body!) as Record<string, unknown>);
    };
    // Taken, then reported failed at once; refused at send; taken, reported delivered in 10 s.
    await carrier.send(request('msg_failed', '+12025550101'));
    await expect(carrier.send(request('msg_refused', '+12025550100', 'Hi {refuse}'))).rejects.toBeInstanceOf(
      CarrierRejectedError,
    );
    const takenAt = Date.now();
    await carrier.send(request('msg_late', '+12025550103'));
    const [first] = await receive();
    expect(first).toMatchObject({ messageId: 'msg_failed', status: 'failed', errorCode: 'carrier_error' });

    // Reported again 7 s into the late receipt's 10 s: the failed receipt at once, the same
    // event; the late one once what is left of its delay (3 s) has passed, for the same time.
    const reportedAt = Date.now();
    const reported = await restarted.reportAgain(
      ['msg_failed', 'msg_refused', 'msg_late', 'msg_never_sent'],
      new Date(takenAt + 7_000),
    );
    expect(reported).toBe(2);
    const [repeated, ...rest] = await receive(again.url);
    expect(repeated).toEqual(first);
    expect(rest).toEqual([]);
    let late: Record<string, unknown>[] = [];
    while (late.length === 0 && Date.now() < reportedAt + 10_000) late = await receive(again.url);
    expect(Date.now() - reportedAt).toBeGreaterThanOrEqual(2_500);
    expect(late).toEqual([expect.objectContaining({ messageId: 'msg_late', status: 'delivered' })]);
    const occurredIn = Date.parse(String(late[0]!.occurredAt)) - takenAt;
    expect(occurredIn).toBeGreaterThanOrEqual(10_000);
    expect(occurredIn).toBeLessThan(11_000);
  });
});

describe('KmsKeyService against the KMS stand-in', () => {
  const keys = new KmsKeyService(kms);

  it('wraps a data key that only the same encryption context unwraps', async () => {
    const keyId = await ensureSystemKey(kms, `alias/${uniqueName('test')}`);
    const { plaintext, ciphertext } = await keys.generateDataKey(keyId, { tenant: 'ten_A', purpose: 'test' });
    expect(plaintext).toHaveLength(32);
    await expect(keys.decrypt(ciphertext, { tenant: 'ten_A', purpose: 'test' })).resolves.toEqual(plaintext);
    // KMS's refusal, translated: asking again would give the same answer.
    await expect(keys.decrypt(ciphertext, { tenant: 'ten_B', purpose: 'test' })).rejects.toMatchObject({
      name: 'CiphertextRefusedError',
      cause: { name: 'InvalidCiphertextException' },
    });
  });

  it('refuses to decrypt under a key scheduled for deletion', async () => {
    const key = await kms.send(new CreateKeyCommand({ Description: 'doomed' }));
    const keyId = key.KeyMetadata!.KeyId!;
    const { ciphertext } = await keys.generateDataKey(keyId, { purpose: 'x' });
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    await expect(
      kms.send(new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionContext: { purpose: 'x' } })),
    ).rejects.toMatchObject({
      name: 'KMSInvalidStateException',
    });
  });

  it('returns the same key for an alias created twice', async () => {
    const alias = `alias/${uniqueName('twice')}`;
    await expect(ensureSystemKey(kms, alias)).resolves.toBe(await ensureSystemKey(kms, alias));
  });
});
