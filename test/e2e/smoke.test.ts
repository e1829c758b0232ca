import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionNames } from '../../infra/function-files.ts';
import type { RunningGateway } from '../../infra/local/gateway.ts';
import { formatResult, runSmoke, type SmokeResult } from '../../infra/smoke.ts';
import { EUM_FUNCTIONS } from '../../layers/http/route.ts';
import { NO_CACHES, startTestGateway } from '../support/local-gateway.ts';

let gateway: RunningGateway;
let receiver: Server;
let receiverUrl: string;
let hooksReceived = 0;

/**
 * Every function of functions/, by file name, that this (sandbox) deployment has: each must have
 * its line in the report. End User Messaging's subscriber is deployed only with `-c carrier=eum`.
 */
const FUNCTIONS = functionNames().filter((f) => !(EUM_FUNCTIONS as readonly string[]).includes(f));

/** A port nothing listens on: one a server held and gave back. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

beforeAll(async () => {
  // The operator's webhook receiver: on this machine, allowed only because this gateway is told so.
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hooksReceived++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  gateway = await startTestGateway('smoke', {
    ...NO_CACHES,
    allowLoopbackWebhooks: true,
  });
});

afterAll(async () => {
  await gateway?.stop();
  receiver?.close();
});

const byFn = (results: SmokeResult[]) => new Map(results.map((r) => [r.fn, r]));

describe('npm run smoke', () => {
  it('passes every function of the gateway, in both regions, and closes its test tenant', async () => {
    const { results } = await runSmoke({
      url: gateway.url,
      euUrl: gateway.euUrl,
      admin: { token: gateway.adminToken },
      webhookReceiver: receiverUrl,
      waitMs: 20_000,
    });

    const failed = results.filter((r) => r.status !== 'PASS').map(formatResult);
    expect(failed).toEqual([]);
    const report = byFn(results);
    for (const fn of [
      ...FUNCTIONS,
      'send-message@eu',
      'dispatch-messages@eu',
      'apply-carrier-events@eu',
      'admin@eu',
    ])
      expect(report.get(fn)?.status, `${fn} in the report`).toBe('PASS');
    expect(hooksReceived).toBeGreaterThan(0);

    // The throwaway tenant is closed: nothing of it is left active.
    const tenants = await fetch(`${gateway.url}/admin/tenants`, {
      headers: { authorization: `Bearer ${gateway.adminToken}` },
    }).then((r) => r.json() as Promise<{ data: { displayName: string; status: string }[] }>);
    const smoke = tenants.data.filter((t) => t.displayName.startsWith('Smoke test'));
    expect(smoke.length).toBe(1);
    expect(smoke[0]!.status).toBe('closed');
  }, 120_000);

  it('reports a broken function as FAIL with the reason, carries on and still closes the tenant', async () => {
    const { results } = await runSmoke({
      url: gateway.url,
      euUrl: `http://127.0.0.1:${await closedPort()}`,
      admin: { token: gateway.adminToken },
      waitMs: 20_000,
    });

    const report = byFn(results);
    expect(report.get('send-message@eu')).toMatchObject({ status: 'FAIL' });
    expect(formatResult(report.get('send-message@eu')!)).toMatch(
      /^FAIL send-message@eu: POST \/v1\/messages at the EU endpoint: cannot reach the endpoint \(ECONNREFUSED\)$/,
    );
    expect(report.get('dispatch-messages@eu')?.status).toBe('SKIP');
    // The EU half of the closure is the EU endpoint's: it says it could not be done.
    expect(formatResult(report.get('admin@eu')!)).toMatch(
      /^FAIL admin@eu: closing the test tenant at the EU endpoint: cannot reach the endpoint \(ECONNREFUSED\)$/,
    );
    // Without a receiver nothing is registered and the delivery check says why it was skipped.
    expect(formatResult(report.get('deliver-webhooks')!)).toBe(
      'SKIP deliver-webhooks: no --webhook-receiver given: no endpoint registered',
    );
    // The rest still ran, the global region's part of the pipeline included, and closure too.
    for (const fn of [
      'admin',
      'send-message',
      'dispatch-messages',
      'apply-carrier-events',
      'subjects',
      'webhooks',
    ])
      expect(report.get(fn)?.status, fn).toBe('PASS');
    expect(formatResult(report.get('admin')!)).toMatch(/^PASS admin \d+ ms$/);
  }, 120_000);
});
