import { execFile } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { promisify } from 'node:util';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../infra/local/gateway.ts';
import { localClients } from '../support/aws.ts';
import { client, expectProblem, onboard } from '../support/http.ts';
import { startTestGateway } from '../support/local-gateway.ts';

const SENDER_IDENTITY = {
  companyName: 'Lingering Ltd',
  registrationNumber: 'HRB 1234',
  address: '1 Main St',
  contactName: 'Ada',
  contactEmail: 'ada@lingering.example',
  useCase: 'Order updates',
};

const run = promisify(execFile);
const { services } = localClients();
let gateway: RunningGateway;

/** Runs `npm run admin -- ...` as an operator would (without npm's banner). */
const admin = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ['--import', 'tsx', 'infra/local/admin-cli.ts', ...args], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
  });

/** `tenants create` at this gateway as its operator (email ops@<name>.test), the created tenant. */
async function createTenant(name: string, legalName: string, more: string[] = []) {
  const out = await admin([
    'tenants',
    'create',
    '--display-name',
    name,
    '--legal-name',
    legalName,
    '--email',
    `ops@${name.toLowerCase()}.test`,
    ...more,
    ...['--url', gateway.url, '--token', gateway.adminToken],
  ]);
  return JSON.parse(out.stdout);
}

beforeAll(async () => {
  gateway = await startTestGateway('cli');
});
afterAll(async () => {
  await gateway?.stop();
});

describe('the admin CLI', () => {
  it('creates a tenant, issues a key shown once, lists and revokes it', async () => {
    const base = ['--url', gateway.url, '--token', gateway.adminToken];
    const tenant = (await createTenant('Acme', 'Acme Ltd', ['--jurisdiction', 'eu'])) as {
      id: string;
      homeJurisdiction: string;
    };
    expect(tenant).toMatchObject({ homeJurisdiction: 'eu', status: 'active' });
    const issued = await admin([
      'keys',
      'create',
      '--tenant',
      tenant.id,
      '--name',
      'ci',
      '--mode',
      'test',
      ...base,
    ]);
    const key = JSON.parse(issued.stdout) as { id: string; secret: string };
    expect(key.secret).toMatch(/^sk_test_/);
    expect(issued.stderr).toContain('shown once');
    const listed = (await admin(['keys', 'list', '--tenant', tenant.id, ...base])).stdout;
    expect(listed).toContain(key.id);
    expect(listed).not.toContain(key.secret);
    const revoked = JSON.parse(
      (await admin(['keys', 'revoke', '--tenant', tenant.id, '--key', key.id, ...base])).stdout,
    );
    expect(revoked).toMatchObject({ id: key.id, status: 'revoked' });
  });

  it('explains a refusal and exits non-zero', async () => {
    const failure = await admin([
      'tenants',
      'create',
      '--display-name',
      'X',
      '--legal-name',
      'X',
      '--email',
      'nope',
      '--url',
      gateway.url,
      '--token',
      gateway.adminToken,
    ]).catch((e: { code: number; stderr: string }) => e);
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toMatch(/422[\s\S]*contactEmail/);
    const badToken = await admin(['tenants', 'list', '--url', gateway.url, '--token', 'wrong']).catch(
      (e: { stderr: string }) => e,
    );
    expect((badToken as { stderr: string }).stderr).toContain('403');
  });

  it('reviews, rejects and approves sender ID applications, and sets abuse controls', async () => {
    const base = ['--url', gateway.url, '--token', gateway.adminToken];
    const json = async (args: string[]) => JSON.parse((await admin([...args, ...base])).stdout);
    const tenant = await createTenant('Initech', 'Initech LLC');
    const key = await json(['keys', 'create', '--tenant', tenant.id, '--name', 'owner', '--scopes', 'admin']);
    const apply = (value: string) =>
      fetch(`${gateway.url}/v1/sender-ids`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          value,
          identity: {
            companyName: 'Initech LLC',
            registrationNumber: 'C123',
            address: '4120 Freidrich Lane, Austin',
            contactName: 'Bill Lumbergh',
            contactEmail: 'bill@initech.test',
            useCase: 'TPS report reminders',
          },
        }),
      }).then((r) => r.json() as Promise<{ id: string }>);
    const first = await apply('Initech');
    const second = await apply('TPS');
    const pending = await json(['sender-ids', 'pending']);
    expect(pending.data.map((p: { id: string }) => p.id)).toEqual(
      expect.arrayContaining([first.id, second.id]),
    );
    expect(await json(['sender-ids', 'show', '--tenant', tenant.id, first.id])).toMatchObject({
      identity: { contactName: 'Bill Lumbergh' },
    });
    await expect(
      admin(['sender-ids', 'reject', '--tenant', tenant.id, first.id, ...base]),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining('--reason is required'),
    });
    expect(
      await json([
        'sender-ids',
        'reject',
        '--tenant',
        tenant.id,
        first.id,
        '--reason',
        'Not your trading name',
      ]),
    ).toMatchObject({ status: 'rejected', reason: 'Not your trading name' });
    expect(await json(['sender-ids', 'approve', '--tenant', tenant.id, second.id])).toMatchObject({
      status: 'approved',
    });
    const controlled = await json([
      'tenants',
      'controls',
      tenant.id,
      '--countries',
      'us,ca',
      '--rate-per-minute',
      '120',
      '--monthly-cap',
      '5000',
    ]);
    expect(controlled.controls).toMatchObject({
      allowedCountries: ['US', 'CA'],
      rateLimit: { perMinute: 120, burst: 200 },
      monthlySegmentCap: 5000,
      flood: { identicalPerHour: 6, perHour: 20 },
    });
  });

  it("shows a tenant's audit trail and the anonymised analytics", async () => {
    const base = ['--url', gateway.url, '--token', gateway.adminToken];
    const tenant = (await createTenant('Trail', 'Trail Ltd')) as { id: string };
    const trail = await (async () => {
      for (let i = 0; i < 100; i++) {
        const out = JSON.parse(
          (await admin(['audit', '--tenant', tenant.id, '--action', 'createTenant', ...base])).stdout,
        ) as { data: { action: string; actor: { type: string } }[] };
        if (out.data.length > 0) return out.data;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('no audit entry');
    })();
    expect(trail).toMatchObject([{ action: 'createTenant', actor: { type: 'operator' } }]);
    const analytics = JSON.parse(
      (await admin(['analytics', '--from', '2026-11-01', '--to', '2026-11-02', '--k', '20', ...base])).stdout,
    );
    expect(analytics).toEqual({
      from: '2026-11-01',
      to: '2026-11-02',
      k: 20,
      jurisdictions: ['global'],
      data: [],
      suppressedCells: 0,
    });
  });

  it("closes an account in both regions, each at its own region's endpoint, and states what remains", async () => {
    const base = ['--url', gateway.url, '--token', gateway.adminToken];
    const tenant = (await createTenant('Closing', 'Closing Ltd')) as { id: string };
    const closed = JSON.parse(
      (await admin(['tenants', 'close', tenant.id, '--confirm', tenant.id, ...base])).stdout,
    ) as {
      status: string;
      jurisdictions: { jurisdiction: string; keyDeletionDate: string | null }[];
      closeAlsoAt: unknown[];
      recordsKept: { until: string };
    };
    expect(closed.status).toBe('closed');
    // The global endpoint closed the global jurisdiction; the EU endpoint it named, the EU one.
    expect(closed.jurisdictions.map((j) => j.jurisdiction)).toEqual(['global', 'eu']);
    expect(closed.jurisdictions[0]?.keyDeletionDate).not.toBeNull();
    expect(closed.closeAlsoAt).toEqual([]);
    expect(Date.parse(closed.recordsKept.until)).toBeGreaterThan(Date.now());
  });

  it('leaves nothing written with a key the authorizer still caches after the closure: each write answers 401', async () => {
    // This gateway caches authorizations for 60 s, as API Gateway does in AWS.
    const api = client(gateway.url);
    const t = await onboard(api, gateway.adminToken, {
      name: 'Lingering',
      scopes: ['send', 'read', 'admin'],
    });
    const writes = (n: number) =>
      [
        ['/v1/opt-outs', { phone: `+1202555014${n}` }],
        ['/v1/consents', { phone: `+1202555015${n}`, source: 'web form', disclosureVersion: 'v1' }],
        ['/v1/webhooks', { url: `https://hooks.example.com/${n}`, events: ['message.status'] }],
        ['/v1/sender-ids', { value: `LINGER${n}`, countries: [], identity: SENDER_IDENTITY }],
      ] as const;
    // Each route's authorization cached (and each function's tenant key in hand) before the closure.
    for (const [path, body] of writes(1)) {
      expect((await api.call('POST', path, { key: t.key, body })).status, path).toBe(201);
    }
    const help = (n: number) => ({
      key: t.key,
      body: { helpText: `Lingering ${n}: reply STOP to opt out.` },
    });
    expect((await api.call('PUT', '/v1/settings/replies', help(1))).status).toBe(200);
    await admin([
      'tenants',
      'close',
      t.tenantId,
      '--confirm',
      t.tenantId,
      '--url',
      gateway.url,
      '--token',
      gateway.adminToken,
    ]);
    for (const [path, body] of writes(2)) {
      expectProblem(await api.call('POST', path, { key: t.key, body }), 401, 'unauthorized');
    }
    expectProblem(await api.call('PUT', '/v1/settings/replies', help(2)), 401, 'unauthorized');
    const left: string[] = [];
    for (const j of ['global', 'eu'] as const) {
      const { dynamodb } = localClients(gateway.regions[j]);
      for (const table of [gateway.tables.tenants, gateway.tables.messagesByJurisdiction[j]]) {
        const out = await dynamodb.send(new ScanCommand({ TableName: table }));
        for (const item of out.Items ?? []) {
          const pk = item.pk?.S ?? '';
          // (The refused requests still counted against the tenant's rate: its bucket, a clock
          // holding no data, is back, gone by its TTL within two hours.)
          const ticking = item.sk?.S === 'RATE' && Number(item.expiresAt?.N) < Date.now() / 1000 + 7_200;
          const kept =
            ['PROFILE', 'KEYRING'].includes(item.sk?.S ?? '') || /#(audit|usage)$/.test(pk) || ticking;
          if (pk.includes(t.tenantId) && !kept) left.push(`${j} ${table}: ${pk} ${item.sk?.S}`);
        }
      }
    }
    expect(left).toEqual([]);
    // The record stays, without the tenant's own words (its reply texts).
    const { dynamodb } = localClients(gateway.regions.global);
    const profile = await dynamodb.send(
      new ScanCommand({
        TableName: gateway.tables.tenants,
        FilterExpression: 'pk = :pk AND sk = :sk',
        ExpressionAttributeValues: { ':pk': { S: t.tenantId }, ':sk': { S: 'PROFILE' } },
      }),
    );
    expect(profile.Items?.[0]?.status?.S).toBe('closed');
    expect(JSON.stringify(profile.Items)).not.toContain('Lingering 1');
    expect(profile.Items?.[0]).not.toHaveProperty('replies');
  });

  it('signs requests with SigV4 for a deployed gateway (--aws)', async () => {
    let seen: IncomingHttpHeaders | undefined;
    const server = createServer((req, res) => {
      seen = req.headers;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      await admin(['--aws', '--url', `http://127.0.0.1:${port}`, 'tenants', 'list'], {
        AWS_REGION: 'eu-central-1',
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'secret',
      });
    } finally {
      server.close();
    }
    expect(seen?.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-central-1\/execute-api\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(seen?.['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
  });
});

describe('npm start', () => {
  it('refuses a port already taken with a message naming the flag to change', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const args = ['--import', 'tsx', 'infra/local/main.ts', '--port', String(port), '--external'];
    const failure = await run(process.execPath, [
      ...args,
      `dynamodb=${services.dynamodb},sqs=${services.sqs},kms=${services.kms}`,
    ]).catch((e: { code: number; stderr: string }) => e);
    blocker.close();
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toContain(
      `Port ${port} for the HTTP API is already taken`,
    );
    expect((failure as { stderr: string }).stderr).toContain('--port');
  });
});
