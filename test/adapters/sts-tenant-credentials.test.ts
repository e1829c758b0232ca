import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { perTenantClient, tenantCredentials } from '../../layers/adapters/sts-tenant-credentials.ts';
import { inTenantScope } from '../../layers/tenant-scope.ts';

const ROLE = 'arn:aws:iam::123456789012:role/get-message-tenant-access';
const sts = mockClient(STSClient);
let now = Date.parse('2026-11-30T10:00:00Z');
let issued = 0;

beforeEach(() => {
  sts.reset();
  issued = 0;
  sts.on(AssumeRoleCommand).callsFake(async (input: { DurationSeconds?: number }) => {
    issued += 1;
    return {
      Credentials: {
        AccessKeyId: `ASIA${issued}`,
        SecretAccessKey: 'secret',
        SessionToken: 'token',
        Expiration: new Date(now + (input.DurationSeconds ?? 3600) * 1000),
      },
    };
  });
});

const credentials = () =>
  tenantCredentials({ roleArn: ROLE, sts: new STSClient({ region: 'us-east-1' }), clock: () => now });

describe('tenant-scoped credentials', () => {
  it('assumes the tenant-access role with the tenant as session tag, once per tenant until shortly before expiry', async () => {
    const of = credentials();
    const [first, again] = await Promise.all([of('ten_A')(), of('ten_A')()]);
    expect(first.accessKeyId).toBe('ASIA1');
    expect(again.accessKeyId).toBe('ASIA1');
    expect(sts.commandCalls(AssumeRoleCommand)[0]!.args[0].input).toEqual({
      RoleArn: ROLE,
      RoleSessionName: 'ten_A',
      Tags: [{ Key: 'tenant', Value: 'ten_A' }],
      DurationSeconds: 3600,
    });
    // Another tenant gets its own session.
    expect((await of('ten_B')()).accessKeyId).toBe('ASIA2');
    // 54 minutes later: still the same session; 56 minutes later (under 5 left): a new one.
    now += 54 * 60_000;
    expect((await of('ten_A')()).accessKeyId).toBe('ASIA1');
    now += 2 * 60_000;
    expect((await of('ten_A')()).accessKeyId).toBe('ASIA3');
    expect(issued).toBe(3);
  });

  it('does not keep a failed AssumeRole', async () => {
    sts
      .on(AssumeRoleCommand)
      .rejectsOnce(new Error('throttled'))
      .resolves({
        Credentials: {
          AccessKeyId: 'ASIA9',
          SecretAccessKey: 's',
          SessionToken: 't',
          Expiration: new Date(now + 3600_000),
        },
      });
    const of = credentials();
    await expect(of('ten_A')()).rejects.toThrow('throttled');
    expect((await of('ten_A')()).accessKeyId).toBe('ASIA9');
  });

  it('sends each call with the credentials of the tenant whose request runs, and none outside one', async () => {
    const made: string[] = [];
    const sent: string[] = [];
    const make = (provider: () => Promise<{ accessKeyId: string }>) => ({
      send: async (command: string) => {
        sent.push(`${(await provider()).accessKeyId}:${command}`);
        return command;
      },
      destroy: () => {},
      made: made.push('client'),
    });
    const client = perTenantClient(make, credentials());
    await inTenantScope('ten_A', () => client.send('get' as never));
    await inTenantScope('ten_B', () => client.send('get' as never));
    await inTenantScope('ten_A', () => client.send('query' as never));
    expect(sent).toEqual(['ASIA1:get', 'ASIA2:get', 'ASIA1:query']);
    await expect(client.send('get' as never)).rejects.toMatchObject({ name: 'NoTenantScopeError' });
    // One template client and one per tenant.
    expect(made).toHaveLength(3);
  });
});
