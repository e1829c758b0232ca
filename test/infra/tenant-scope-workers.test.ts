import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DECLARATIONS } from '../../infra/declarations.ts';
import {
  type AuthzRequest,
  evaluateIdentityPolicies,
  type PolicyDocument,
} from '../../infra/local/iam/policy.ts';
import { defineFunction } from '../../layers/declaration.ts';
import { ACCOUNT, policyOf, roleIds, statelessTemplates } from '../support/role-templates.ts';

/**
 * Issue 14, item 2, for the queue workers: each one's execution role keeps only what is no
 * tenant's (gateway-wide items by partition-key pattern, reply routing's byRecipient index) and no
 * tenant key; its tenant-access role reaches the session tenant's items and key context only.
 * Decided with the local IAM evaluator on the statements the stacks deploy.
 */
const templates = statelessTemplates('tenant-scope-workers');

type Statement = { Action: string | string[]; Resource: unknown };
/** A template value with the account filled in, as IAM sees it. */
const concrete = (v: unknown): unknown =>
  JSON.parse(
    JSON.stringify(v, (_k, x) => {
      const join = (x as { 'Fn::Join'?: [string, unknown[]] } | null)?.['Fn::Join'];
      if (join) return join[1].map((p) => (typeof p === 'string' ? p : ACCOUNT)).join(join[0]);
      // Another stack's or resource's ARN (a queue, the system key): none of the ARNs asked about.
      if (
        x &&
        typeof x === 'object' &&
        !Array.isArray(x) &&
        /^(Fn::GetAtt|Fn::ImportValue|Ref)$/.test(Object.keys(x)[0] ?? '')
      )
        return `arn:aws:other:${JSON.stringify(x)}`;
      return x;
    }),
  );
const docOf = (t: Template, roleId: string) =>
  ({ Version: '2012-10-17', Statement: concrete(policyOf<Statement>(t, roleId)) }) as PolicyDocument;

// The carrier webhook handles replies as the carrier events worker does (routed, then the tenant's).
const WORKERS = [
  'dispatch-messages',
  'record-audit-events',
  'apply-carrier-events',
  'carrier-inbound',
] as const;
const HANDLES_REPLIES: ReadonlySet<string> = new Set(['apply-carrier-events', 'carrier-inbound']);
const DYNAMODB = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];
const REGION = { global: 'us-east-1', eu: 'eu-central-1' } as const;
const tableOf = (j: 'global' | 'eu') =>
  `arn:aws:dynamodb:${REGION[j]}:${ACCOUNT}:table/sms-gateway-${j}-messages`;
/** The tables a worker of that region reaches: its own, and the global one from the EU region's carrier events worker. */
const tablesOf = (name: string, region: 'global' | 'eu') =>
  HANDLES_REPLIES.has(name) && region === 'eu' ? [tableOf('eu'), tableOf('global')] : [tableOf(region)];

describe('tenant-scoped queue workers (issue 14, item 2)', () => {
  it('are tenant-scoped', () => {
    for (const name of WORKERS) expect(DECLARATIONS[name].tenantScoped, name).toBe(true);
  });

  for (const region of ['global', 'eu'] as const) {
    for (const name of WORKERS) {
      const t = templates[region];
      const { execution, tenant } = roleIds(t, name);
      const asExecution = { arn: `arn:aws:iam::${ACCOUNT}:role/${name}`, account: ACCOUNT, tags: {} };
      const asTenant = (tag: string) => ({
        arn: `arn:aws:iam::${ACCOUNT}:role/${name}-tenant-access`,
        account: ACCOUNT,
        tags: { tenant: tag },
      });

      it(`${region} ${name}: the execution role reaches no tenant's item and no tenant key`, () => {
        expect(tenant).toBeDefined();
        const doc = docOf(t, execution);
        for (const table of tablesOf(name, region)) {
          for (const action of DYNAMODB) {
            for (const pk of ['ten_A', 'ten_A#usage', 'ten_A#audit']) {
              const request: AuthzRequest = {
                action,
                resource: table,
                principal: asExecution,
                context: { 'dynamodb:LeadingKeys': [pk] },
              };
              expect(evaluateIdentityPolicies([doc], request), `${action} ${pk} ${table}`).toBe(
                'implicit-deny',
              );
            }
          }
          // Nor the index whose partition is a tenant's.
          expect(
            evaluateIdentityPolicies([doc], {
              action: 'dynamodb:Query',
              resource: `${table}/index/bySubject`,
              principal: asExecution,
            }),
          ).toBe('implicit-deny');
        }
        for (const action of ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:CreateKey']) {
          const request: AuthzRequest = {
            action,
            resource: `arn:aws:kms:${REGION[region]}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
            principal: asExecution,
            context: { 'kms:EncryptionContext:tenant': 'ten_A' },
          };
          expect(evaluateIdentityPolicies([doc], request), action).toBe('implicit-deny');
        }
      });

      it(`${region} ${name}: the execution role keeps its gateway-wide items`, () => {
        const doc = docOf(t, execution);
        const may = (action: string, pk: string, resource = tableOf(region)) =>
          evaluateIdentityPolicies([doc], {
            action,
            resource,
            principal: asExecution,
            ...(resource.includes('/index/') ? {} : { context: { 'dynamodb:LeadingKeys': [pk] } }),
          });
        const day = 'usage#2026-11-30';
        if (name === 'dispatch-messages') {
          expect(may('dynamodb:UpdateItem', day)).toBe('allow');
          expect(may('dynamodb:GetItem', 'BLOCK#x')).toBe('implicit-deny');
        }
        if (name === 'record-audit-events') {
          expect(may('dynamodb:GetItem', 'operator#audit')).toBe('allow');
          expect(may('dynamodb:PutItem', 'operator#audit')).toBe('allow');
          expect(may('dynamodb:UpdateItem', day)).toBe('implicit-deny');
        }
        if (HANDLES_REPLIES.has(name)) {
          for (const table of tablesOf(name, region)) {
            expect(may('dynamodb:UpdateItem', day, table)).toBe('allow');
            expect(may('dynamodb:UpdateItem', 'BUDGET#x', table)).toBe('allow');
            expect(may('dynamodb:PutItem', 'BLOCK#x', table)).toBe('allow');
            expect(may('dynamodb:Query', '', `${table}/index/byRecipient`)).toBe('allow');
          }
        }
      });

      it(`${region} ${name}: a tenant session reaches its own tenant's items and key context only`, () => {
        const doc = docOf(t, tenant!);
        for (const table of tablesOf(name, region)) {
          const call = (action: string, pk: string, tag = 'ten_A'): AuthzRequest => ({
            action,
            resource: table,
            principal: asTenant(tag),
            context: { 'dynamodb:LeadingKeys': [pk] },
          });
          const own = name === 'record-audit-events' ? 'ten_A#audit' : 'ten_A';
          for (const action of ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem']) {
            expect(evaluateIdentityPolicies([doc], call(action, own)), action).toBe('allow');
            expect(evaluateIdentityPolicies([doc], call(action, 'ten_B')), action).toBe('implicit-deny');
            expect(evaluateIdentityPolicies([doc], call(action, 'ten_B#audit')), action).toBe(
              'implicit-deny',
            );
            expect(evaluateIdentityPolicies([doc], call(action, 'usage#2026-11-30')), action).toBe(
              'implicit-deny',
            );
            expect(evaluateIdentityPolicies([doc], call(action, 'BLOCK#x')), action).toBe('implicit-deny');
          }
        }
        const kms = (action: string, tenantContext: string): AuthzRequest => ({
          action,
          resource: `arn:aws:kms:${REGION[region]}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
          principal: asTenant('ten_A'),
          context: { 'kms:EncryptionContext:tenant': tenantContext },
        });
        // The audit trail's entries are plain: its recorder holds no tenant key at all.
        expect(evaluateIdentityPolicies([doc], kms('kms:Decrypt', 'ten_A'))).toBe(
          name === 'record-audit-events' ? 'implicit-deny' : 'allow',
        );
        expect(evaluateIdentityPolicies([doc], kms('kms:Decrypt', 'ten_B'))).toBe('implicit-deny');
        // Only the carrier events worker seals (a reply, a keyword's answer).
        expect(evaluateIdentityPolicies([doc], kms('kms:GenerateDataKey', 'ten_A'))).toBe(
          HANDLES_REPLIES.has(name) ? 'allow' : 'implicit-deny',
        );
        expect(evaluateIdentityPolicies([doc], kms('kms:GenerateDataKey', 'ten_B'))).toBe('implicit-deny');
      });
    }
  }

  it('lets a gateway-wide grant query byRecipient (a person pseudonym partition), no other index', () => {
    const worker = (queryIndexes: string[]) =>
      defineFunction({
        ...DECLARATIONS['apply-carrier-events'],
        gatewayWide: { messages: { queryIndexes } },
      });
    expect(worker(['byRecipient']).gatewayWide).toEqual({ messages: { queryIndexes: ['byRecipient'] } });
    expect(() => worker(['bySubject'])).toThrow(/queries no index but byRecipient/);
  });
});
