import { CreateKeyCommand, DecryptCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { ensureQueue, ensureSystemKey } from '../../infra/local/provision.ts';
import { QUEUES } from '../../infra/resources.ts';
import { KmsKeyService } from '../../layers/adapters/kms-key-service.ts';
import { SqsDispatchQueue } from '../../layers/adapters/sqs-dispatch-queue.ts';
import { localClients, uniqueName } from '../support/aws.ts';

const { sqs, kms } = localClients();

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
