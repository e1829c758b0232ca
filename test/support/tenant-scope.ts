import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { expect } from 'vitest';
import type { RunningGateway } from '../../infra/local/gateway.ts';
import { encryptionContext } from '../../layers/core/crypto.ts';
import { localClients } from './aws.ts';
import type { functionWiring } from './function-wiring.ts';

/** What the tenant-scope tests (test/e2e/tenant-scope*.test.ts) check IAM's answers with. */

/** IAM's refusal, however deep the adapter that met it wrapped it. */
export const refusedInIam = (e: Error & { cause?: Error }) => (e.cause ?? e).name === 'AccessDeniedException';

/** Every IAM refusal since `before` was of a tenant-access session (a tenant's scope), and there was one. */
export function expectTenantSessionDenials(gateway: RunningGateway, before: number) {
  const since = gateway.iamDenials.slice(before);
  expect(since.length).toBeGreaterThan(0);
  expect(since.every((d) => /TenantAccess/.test(d.role))).toBe(true);
}

/** A function's execution role's own DynamoDB client in the global region (no tenant session). */
export const executionDynamodb = (gateway: RunningGateway, env: Record<string, string>) =>
  new DynamoDBClient({
    region: gateway.regions.global,
    endpoint: env.AWS_ENDPOINT_URL_DYNAMODB!,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
  });

/** A GetItem of `key` in `TableName` with a function's execution role's own credentials (global region). */
export async function getAsExecutionRole(
  gateway: RunningGateway,
  env: Record<string, string>,
  TableName: string,
  key: { pk: string; sk: string },
) {
  const execution = executionDynamodb(gateway, env);
  try {
    return await execution.send(new GetItemCommand({ TableName, Key: marshall(key) }));
  } finally {
    execution.destroy();
  }
}

/** A tenant's keyring secret in the global region as stored (wrapped under its KMS key), read raw. */
export async function keyringSecret(gateway: RunningGateway, tenantId: string) {
  const keyring = await localClients(gateway.regions.global).dynamodb.send(
    new GetItemCommand({
      TableName: gateway.tables.messagesByJurisdiction.global,
      Key: { pk: { S: tenantId }, sk: { S: 'KEYRING' } },
    }),
  );
  return unmarshall(keyring.Item!).wrappedSecret as Uint8Array;
}

/**
 * `victim`'s keyring secret (read raw) handed to the key service to open inside `actor`'s tenant
 * scope, with a function's wiring (see functionWiring): what IAM must refuse.
 */
export async function openKeyringOf(
  gateway: RunningGateway,
  { w, inTenantScope }: Awaited<ReturnType<ReturnType<typeof functionWiring>['asFunction']>>,
  actor: string,
  victim: string,
) {
  const wrapped = await keyringSecret(gateway, victim);
  return inTenantScope(actor, () =>
    w.keyService('global').decrypt(wrapped, encryptionContext(victim, 'global', 'pseudonym')),
  );
}
