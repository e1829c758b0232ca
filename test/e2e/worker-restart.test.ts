import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { localClients, uniqueName } from '../support/aws.ts';
import { type GatewayProcess, spawnGateway } from '../support/gateway-process.ts';
import { client, onboard, waitFor } from '../support/http.ts';

const { services, dynamodb } = localClients();
const running: GatewayProcess[] = [];

afterAll(() => {
  for (const g of running) g.child.kill('SIGKILL');
});

describe('a worker killed mid-batch', () => {
  it('loses no message, never re-sends one already sent, and delivers each once', async () => {
    const prefix = uniqueName('restart');
    const args = [
      '--port',
      '0',
      '--external',
      `dynamodb=${services.dynamodb},sqs=${services.sqs},kms=${services.kms}`,
      '--prefix',
      prefix,
      '--visibility-timeout',
      '4',
    ];
    const first = await spawnGateway(args);
    running.push(first);
    const api = client(first.url);
    const { key } = await onboard(api, first.adminToken);

    // Fast and slow (3 s carrier) sends mixed in the same batches: when the worker dies, some
    // messages are sent but their records not yet deleted, others are mid-send.
    const messages = Array.from({ length: 24 }, (_, i) => ({
      to: i % 3 === 0 ? '+12025550106' : '+12025550100',
      from: 'Acme',
      body: `restart ${i}`,
    }));
    const batch = await api.call<{ results: { message: { id: string } }[] }>('POST', '/v1/messages/batch', {
      key,
      body: { messages },
    });
    const ids = batch.body.results.map((r) => r.message.id);
    expect(ids).toHaveLength(24);

    await waitFor(async () => {
      const res = await api.call<{ data: unknown[] }>('GET', '/v1/messages?status=sent&limit=100', { key });
      const delivered = await api.call<{ data: unknown[] }>(
        'GET',
        '/v1/messages?status=delivered&limit=100',
        { key },
      );
      return res.body.data.length + delivered.body.data.length >= 4 ? true : undefined;
    }, 'some messages to be sent');
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const atKill = new Map(
      ((await dynamodb.send(new ScanCommand({ TableName: first.tables.messages }))).Items ?? [])
        .map((i) => unmarshall(i))
        .filter((m) => String(m.sk).startsWith('MSG#'))
        .map((m) => [m.id as string, { status: m.status as string, attempts: m.attempts as number }]),
    );

    const second = await spawnGateway(args);
    running.push(second);
    const api2 = client(second.url);
    // One list call per poll: 24 GETs every 100 ms would pass the tenant's rate limit (bursts of
    // 200, then 100/s) whenever delivery is slow, and the 429s would never show 'delivered'.
    const statuses = await waitFor(
      async () => {
        const res = await api2.call<{ data: { id: string; status: string }[] }>(
          'GET',
          '/v1/messages?status=delivered&limit=100',
          { key },
        );
        const s = res.body.data.filter((m) => ids.includes(m.id)).map((m) => m.status);
        return s.length === ids.length ? s : undefined;
      },
      'every message to be delivered after the restart',
      40_000,
    );
    expect(statuses).toHaveLength(24);

    // The sandbox carrier's handsets: one entry per message id, so each person got it once.
    const ledger = await dynamodb.send(new ScanCommand({ TableName: first.tables.sandboxLedger }));
    const sends = new Map(
      (ledger.Items ?? [])
        .map((i) => unmarshall(i))
        .map((i) => [String(i.pk).replace('SANDBOX#', ''), i.sends as number]),
    );
    expect([...sends.keys()].sort()).toEqual([...ids].sort());
    // A message already marked sent when the worker died was never handed to the carrier again,
    // although its record came back (its batch had not finished, so nothing was deleted).
    const sentBeforeKill = ids.filter((id) => atKill.get(id)?.status !== 'queued');
    expect(sentBeforeKill.length).toBeGreaterThanOrEqual(4);
    for (const id of sentBeforeKill) expect(sends.get(id), id).toBe(1);
    // Only a message caught between claim and "sent" may be handed over again, with the same id
    // (the carrier's idempotency key): at most once more, and only if it had been claimed.
    for (const id of ids.filter((i) => !sentBeforeKill.includes(i))) {
      expect(sends.get(id)! - 1, id).toBeLessThanOrEqual(atKill.get(id)!.attempts);
    }
    second.child.kill('SIGTERM');
  }, 90_000);
});
