import { describe, expect, it } from 'vitest';
import { DECLARATIONS } from '../../infra/declarations.ts';
import {
  type AuthzRequest,
  evaluateIdentityPolicies,
  type PolicyDocument,
} from '../../infra/local/iam/policy.ts';
import { tenantsNeedIn } from '../../layers/declaration.ts';
import {
  ACCOUNT,
  policyOf,
  resources,
  roleIds,
  statelessTemplates,
  type TemplateResource,
} from '../support/role-templates.ts';

const templates = statelessTemplates('tenant-access');

type Statement = {
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};
const actions = (s: Statement) => [s.Action].flat();
/** A template value with the account filled in, as IAM sees it. */
const concrete = (v: unknown): unknown =>
  JSON.parse(
    JSON.stringify(v, (_k, x) => {
      const join = (x as { 'Fn::Join'?: [string, unknown[]] } | null)?.['Fn::Join'];
      if (join) return join[1].map((p) => (typeof p === 'string' ? p : ACCOUNT)).join(join[0]);
      // Another stack's table (the global region's tenants table), named by its export.
      const imported = (x as { 'Fn::ImportValue'?: unknown } | null)?.['Fn::ImportValue'];
      if (imported !== undefined)
        return `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${JSON.stringify(imported)}`;
      return x;
    }),
  );

/** Their roles (execution roles that keep gateway-wide items) are checked in tenant-scope-workers.test.ts. */
const WORKERS = new Set([
  'dispatch-messages',
  'record-audit-events',
  'apply-carrier-events',
  'carrier-inbound',
  // Deployed with -c carrier=eum only (these are the sandbox templates); declarations.test.ts
  // checks the EUM variant's roles.
  'receive-eum-events',
]);
const SCOPED = Object.values(DECLARATIONS)
  .filter((d) => d.tenantScoped && !WORKERS.has(d.name))
  .map((d) => d.name);

/** Scoped functions that write tenant items, and those that wrap under (and create) tenant keys (body removal only unwraps). */
const WRITERS = new Set([
  'delete-message-body',
  'opt-outs',
  'consents',
  'subjects',
  'sender-ids',
  'webhooks',
  'deliver-webhooks',
  'send-message',
  'send-batch',
]);
const WRAPPERS = new Set([
  'opt-outs',
  'consents',
  'subjects',
  'sender-ids',
  'webhooks',
  'send-message',
  'send-batch',
]);
/** Scoped functions that use no tenant key. */
const KEYLESS = new Set(['audit-events', 'usage', 'settings']);

describe('tenant-access roles (issue 14, item 2)', () => {
  it('scopes the message and reply read routes, body removal, the recipient lists and the audit trail at least', () => {
    expect(SCOPED).toEqual(
      expect.arrayContaining([
        'get-message',
        'list-messages',
        'inbound',
        'delete-message-body',
        'opt-outs',
        'consents',
        'audit-events',
        'subjects',
        'sender-ids',
        'webhooks',
        'deliver-webhooks',
        'send-message',
        'send-batch',
        'usage',
        'settings',
      ]),
    );
  });

  for (const region of ['global', 'eu'] as const) {
    for (const name of SCOPED) {
      const t = templates[region];
      const { execution, tenant } = roleIds(t, name);

      it(`${region} ${name}: the execution role holds no tenant data, only the right to assume its tenant role with a tenant tag`, () => {
        expect(tenant).toBeDefined();
        const statements = policyOf<Statement>(t, execution);
        const messages = statements.filter((s) => JSON.stringify(s.Resource).includes('-messages'));
        // Gateway-wide items only (declared `gatewayWide`), each by partition-key pattern: no
        // action on any tenant's partition, whatever the statement.
        expect(messages.length > 0).toBe(
          DECLARATIONS[name as keyof typeof DECLARATIONS].gatewayWide?.messages !== undefined,
        );
        const executionDoc = { Version: '2012-10-17', Statement: concrete(messages) } as PolicyDocument;
        const asExecution = (action: string, resource: unknown, pk: string): AuthzRequest => ({
          action,
          resource: concrete(resource) as string,
          principal: { arn: `arn:aws:iam::${ACCOUNT}:role/${name}`, account: ACCOUNT, tags: {} },
          context: { 'dynamodb:LeadingKeys': [pk] },
        });
        for (const s of messages) {
          expect(s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys']).toBeDefined();
          for (const action of actions(s)) {
            for (const pk of ['ten_A', 'ten_A#usage', 'ten_A#audit']) {
              expect(
                evaluateIdentityPolicies([executionDoc], asExecution(action, s.Resource, pk)),
                `${action} ${pk}`,
              ).toBe('implicit-deny');
            }
          }
        }
        // ... and what it declared gateway-wide, it reaches.
        const wide = DECLARATIONS[name as keyof typeof DECLARATIONS].gatewayWide?.messages;
        const reached = [
          ['dynamodb:GetItem', wide?.read],
          ['dynamodb:UpdateItem', wide?.write],
        ] as const;
        for (const [action, patterns] of reached) {
          for (const pattern of patterns ?? []) {
            expect(
              evaluateIdentityPolicies(
                [executionDoc],
                asExecution(action, messages[0]!.Resource, pattern.replace('*', 'x')),
              ),
            ).toBe('allow');
          }
        }
        expect(
          statements.filter((s) =>
            actions(s).some(
              (a) => a.startsWith('kms:') && a !== 'kms:GenerateDataKey' && a !== 'kms:Decrypt',
            ),
          ),
          // The EU region's system key also seals the EU copy of the system secrets (kms:Encrypt):
          // the key itself, never a tenant key.
        ).toEqual(
          // (The webhook worker uses no system secret.)
          region === 'eu' && DECLARATIONS[name as keyof typeof DECLARATIONS].needs.systemKey
            ? [
                expect.objectContaining({
                  Action: ['kms:Decrypt', 'kms:Encrypt'],
                  Resource: { 'Fn::ImportValue': expect.stringContaining('SystemKey') },
                }),
              ]
            : [],
        );
        // Its KMS use is the system key's alone (the pepper, the recipient pseudonym secret): the
        // key itself, or any key by the system alias, never the tenant keys' wildcard.
        for (const s of statements.filter((x) => actions(x).some((a) => a.startsWith('kms:')))) {
          if (JSON.stringify(s.Resource).includes(':key/*')) {
            expect(s.Condition).toEqual({
              'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/sms-gateway/system' },
            });
          }
        }
        const sts = statements.filter((s) => actions(s).some((a) => a.startsWith('sts:')));
        expect(sts).toEqual([
          {
            Effect: 'Allow',
            Action: ['sts:AssumeRole', 'sts:TagSession'],
            Resource: { 'Fn::GetAtt': [tenant, 'Arn'] },
            Condition: { StringLike: { 'aws:RequestTag/tenant': 'ten_*' } },
          },
        ]);
      });

      if (DECLARATIONS[name as keyof typeof DECLARATIONS].needs.tenants)
        it(`${region} ${name}: the tenants table's tenant items only through the tenant role; the execution role keeps the declared patterns`, () => {
          const onTenants = (roleId: string) =>
            policyOf<Statement>(t, roleId).filter((s) => /-tenants|Tenants/.test(JSON.stringify(s.Resource)));
          const executionStatements = onTenants(execution);
          const tenantStatements = onTenants(tenant!);
          // (The webhook worker's execution role keeps nothing of the tenants table.)
          expect(executionStatements.length > 0).toBe(
            DECLARATIONS[name as keyof typeof DECLARATIONS].gatewayWide?.tenants !== undefined,
          );
          expect(tenantStatements.length).toBeGreaterThan(0);
          const resource = concrete(tenantStatements[0]!.Resource) as string;
          const docOf = (statements: Statement[]) =>
            ({ Version: '2012-10-17', Statement: concrete(statements) }) as PolicyDocument;
          const request = (action: string, pk: string, tag?: string): AuthzRequest => ({
            action,
            resource,
            principal: {
              arn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
              account: ACCOUNT,
              tags: tag ? { tenant: tag } : {},
            },
            context: { 'dynamodb:LeadingKeys': [pk] },
          });
          // Its own items: the profile and every item under its id, and its Idempotency-Key claims.
          const writes =
            tenantsNeedIn(DECLARATIONS[name as keyof typeof DECLARATIONS], region) === 'readWrite';
          for (const action of ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query']) {
            const own = action === 'dynamodb:UpdateItem' && !writes ? 'implicit-deny' : 'allow';
            for (const [mine, theirs] of [
              ['ten_A', 'ten_B'],
              ['IDEMKEY#ten_A', 'IDEMKEY#ten_B'],
              ['IDEMKEY#ten_A', 'IDEMKEY#ten_AB'],
              ['ten_A', 'ten_AB'],
            ] as const) {
              expect(evaluateIdentityPolicies([docOf(executionStatements)], request(action, mine))).toBe(
                'implicit-deny',
              );
              expect(
                evaluateIdentityPolicies([docOf(tenantStatements)], request(action, mine, 'ten_A')),
                `${action} ${mine}`,
              ).toBe(own);
              expect(
                evaluateIdentityPolicies([docOf(tenantStatements)], request(action, theirs, 'ten_A')),
              ).toBe('implicit-deny');
            }
            // The gateway-wide items are no tenant session's.
            for (const pk of ['RATE#tenant#ten_A', 'SYSTEM', 'KEYHASH#x']) {
              expect(evaluateIdentityPolicies([docOf(tenantStatements)], request(action, pk, 'ten_A'))).toBe(
                'implicit-deny',
              );
            }
          }
          // What it declared gateway-wide (a route's rate buckets, e.g. RATE#tenant#ten_A, and the
          // system secrets), its execution role reaches.
          const wide = DECLARATIONS[name as keyof typeof DECLARATIONS].gatewayWide?.tenants;
          for (const [action, patterns] of [
            ['dynamodb:GetItem', wide?.read],
            ['dynamodb:UpdateItem', wide?.write],
          ] as const) {
            for (const pattern of patterns ?? []) {
              expect(
                evaluateIdentityPolicies(
                  [docOf(executionStatements)],
                  request(action, pattern.replace('*', 'tenant#ten_A')),
                ),
              ).toBe('allow');
            }
          }
        });

      it(`${region} ${name}: only its execution role may assume its tenant role, with exactly a tenant tag`, () => {
        const role = t.toJSON().Resources[tenant!] as TemplateResource;
        expect((role.Properties.AssumeRolePolicyDocument as { Statement: Statement[] }).Statement).toEqual([
          {
            Effect: 'Allow',
            Action: ['sts:AssumeRole', 'sts:TagSession'],
            Principal: { AWS: { 'Fn::GetAtt': [execution, 'Arn'] } },
            Condition: {
              StringLike: { 'aws:RequestTag/tenant': 'ten_*' },
              'ForAllValues:StringEquals': { 'aws:TagKeys': ['tenant'] },
            },
          },
        ]);
        const fn = resources(t).find(
          ([id, r]) =>
            r.Type === 'AWS::Lambda::Function' && id.startsWith(`${name.replace(/-/g, '')}Function`),
        )!;
        expect(
          (fn[1].Properties.Environment as { Variables: Record<string, unknown> }).Variables
            .TENANT_ACCESS_ROLE_ARN,
        ).toEqual({
          'Fn::GetAtt': [tenant, 'Arn'],
        });
      });

      it(`${region} ${name}: a tenant session reads its own tenant's items and key context only`, () => {
        const doc = {
          Version: '2012-10-17',
          Statement: concrete(policyOf<Statement>(t, tenant!)),
        } as PolicyDocument;
        const table = `arn:aws:dynamodb:${region === 'eu' ? 'eu-central-1' : 'us-east-1'}:${ACCOUNT}:table/sms-gateway-${region}-messages`;
        const session = (tenantTag: string) => ({
          arn: `arn:aws:iam::${ACCOUNT}:role/${name}-tenant-access`,
          account: ACCOUNT,
          tags: { tenant: tenantTag },
        });
        const get = (pk: string, tag = 'ten_A'): AuthzRequest => ({
          action: 'dynamodb:GetItem',
          resource: table,
          principal: session(tag),
          context: { 'dynamodb:LeadingKeys': [pk] },
        });
        expect(evaluateIdentityPolicies([doc], get('ten_A'))).toBe('allow');
        expect(evaluateIdentityPolicies([doc], get('ten_A#audit'))).toBe('allow');
        expect(evaluateIdentityPolicies([doc], get('ten_B'))).toBe('implicit-deny');
        expect(evaluateIdentityPolicies([doc], get('ten_AB'))).toBe('implicit-deny');
        expect(evaluateIdentityPolicies([doc], get('BLOCK#x'))).toBe('implicit-deny');
        const put = (pk: string): AuthzRequest => ({ ...get(pk), action: 'dynamodb:PutItem' });
        // Read routes never write; write routes write their own tenant's items only.
        expect(evaluateIdentityPolicies([doc], put('ten_A'))).toBe(
          // The webhook endpoints write their keyring in the global jurisdiction and, in the EU
          // region, in the EU one too (their secrets' EU copy).
          WRITERS.has(name) ? 'allow' : 'implicit-deny',
        );
        expect(evaluateIdentityPolicies([doc], put('ten_B'))).toBe('implicit-deny');
        expect(evaluateIdentityPolicies([doc], put('BLOCK#x'))).toBe('implicit-deny');
        const decrypt = (tenantContext: string): AuthzRequest => ({
          action: 'kms:Decrypt',
          resource: `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
          principal: session('ten_A'),
          context: { 'kms:EncryptionContext:tenant': tenantContext },
        });
        // The audit trail's entries and the usage counters are plain: their routes hold no tenant key at all.
        expect(evaluateIdentityPolicies([doc], decrypt('ten_A'))).toBe(
          KEYLESS.has(name) ? 'implicit-deny' : 'allow',
        );
        expect(evaluateIdentityPolicies([doc], decrypt('ten_B'))).toBe('implicit-deny');
        const wrap = (tenantContext: string): AuthzRequest => ({
          ...decrypt(tenantContext),
          action: 'kms:GenerateDataKey',
        });
        expect(evaluateIdentityPolicies([doc], wrap('ten_A'))).toBe(
          WRAPPERS.has(name) ? 'allow' : 'implicit-deny',
        );
        expect(evaluateIdentityPolicies([doc], wrap('ten_B'))).toBe('implicit-deny');
        // The webhook worker seals a secret's EU copy under the tenant's EU key in the EU region
        // only; the global region's worker wraps under no key.
        if (name === 'deliver-webhooks') {
          const euWrap = (tenantContext: string): AuthzRequest => ({
            ...wrap(tenantContext),
            resource: `arn:aws:kms:eu-central-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
          });
          expect(evaluateIdentityPolicies([doc], euWrap('ten_A'))).toBe(
            region === 'eu' ? 'allow' : 'implicit-deny',
          );
          expect(evaluateIdentityPolicies([doc], euWrap('ten_B'))).toBe('implicit-deny');
        }
        // A tenant's first key in a jurisdiction is created in its own request, for it alone.
        const create = (tag: string): AuthzRequest => ({
          action: 'kms:CreateKey',
          resource: '*',
          principal: session('ten_A'),
          context: { 'aws:RequestTag/sms-gateway:tenant': tag, 'aws:RequestedRegion': 'us-east-1' },
        });
        expect(evaluateIdentityPolicies([doc], create('ten_A'))).toBe(
          WRAPPERS.has(name) ? 'allow' : 'implicit-deny',
        );
        expect(evaluateIdentityPolicies([doc], create('ten_B'))).toBe('implicit-deny');
        const alias = (tenantId: string): AuthzRequest => ({
          action: 'kms:CreateAlias',
          resource: `arn:aws:kms:us-east-1:${ACCOUNT}:alias/sms-gateway/tenant/${tenantId}/global`,
          principal: session('ten_A'),
        });
        expect(evaluateIdentityPolicies([doc], alias('ten_A'))).toBe(
          WRAPPERS.has(name) ? 'allow' : 'implicit-deny',
        );
        expect(evaluateIdentityPolicies([doc], alias('ten_B'))).toBe('implicit-deny');
      });

      it(`${region} ${name}: a tenant session queries the subject index for its own tenant's subjects only, and no gateway-wide index`, () => {
        const doc = {
          Version: '2012-10-17',
          Statement: concrete(policyOf<Statement>(t, tenant!)),
        } as PolicyDocument;
        const table = `arn:aws:dynamodb:${region === 'eu' ? 'eu-central-1' : 'us-east-1'}:${ACCOUNT}:table/sms-gateway-${region}-messages`;
        // On an index, dynamodb:LeadingKeys is the index's partition key value.
        const query = (index: string, partition: string): AuthzRequest => ({
          action: 'dynamodb:Query',
          resource: `${table}/index/${index}`,
          principal: {
            arn: `arn:aws:iam::${ACCOUNT}:role/${name}-tenant-access`,
            account: ACCOUNT,
            tags: { tenant: 'ten_A' },
          },
          context: { 'dynamodb:LeadingKeys': [partition] },
        });
        expect(evaluateIdentityPolicies([doc], query('bySubject', 'ten_A#subject'))).toBe('allow');
        expect(evaluateIdentityPolicies([doc], query('bySubject', 'ten_B#subject'))).toBe('implicit-deny');
        expect(evaluateIdentityPolicies([doc], query('bySubject', 'ten_AB#subject'))).toBe('implicit-deny');
        expect(evaluateIdentityPolicies([doc], query('byRecipient', 'ten_A'))).toBe('implicit-deny');
        expect(evaluateIdentityPolicies([doc], query('byRecipient', 'recipient-pseudonym'))).toBe(
          'implicit-deny',
        );
      });
    }
  }
});
