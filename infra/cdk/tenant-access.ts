import { Tags } from 'aws-cdk-lib';
import { ArnPrincipal, PolicyStatement, Role } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { CLAIMS_PARTITION_PREFIX } from '../../layers/adapters/dynamodb-idempotency-store.ts';
import { KEY_USER_TAG } from '../../layers/adapters/kms-key-service.ts';
import type { TableAccess } from '../../layers/declaration.ts';
import { present } from '../../layers/present.ts';
import { TENANT_SESSION_TAG } from '../../layers/tenant-scope.ts';
import { type IndexDefinition, TABLES } from '../resources.ts';
import { type Statement, type TenantKeyAccess, tenantKeyStatements } from './tenant-key-grants.ts';

/** The tenant a tenant-access session was assumed for (its session tag), as a policy variable. */
export const SESSION_TENANT = `\${aws:PrincipalTag/${TENANT_SESSION_TAG}}`;

/**
 * The partition keys of one tenant's items: its id (messages, keyring, opt-outs, ...) and
 * `<id>#...` (its audit trail). Tenant ids hold no `#`, so no tenant's pattern matches another's.
 */
export const SESSION_TENANT_PARTITIONS = [SESSION_TENANT, `${SESSION_TENANT}#*`];

const READ = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'];
const WRITE = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

/** The messages table's indexes whose partition keys are `<tenant>#...` (the others are gateway-wide). */
export const TENANT_INDEXES = TABLES.messages.indexes.flatMap((i: IndexDefinition) =>
  i.tenantPartitioned ? [i.name] : [],
);

/**
 * A tenant-access role's statements for a messages table: the function's access, to the session
 * tenant's items only (`dynamodb:LeadingKeys`), and queries of the indexes whose partition key
 * starts with the tenant id, to that tenant's partitions only (on an index, LeadingKeys is the
 * index's partition key). The gateway-wide indexes (byRecipient) are not granted. Plain policy
 * JSON, so the local IAM tests evaluate the very statements the stack deploys.
 */
export function tenantTableStatements(
  tableArn: string,
  access: TableAccess,
  partitions: readonly string[] = SESSION_TENANT_PARTITIONS,
  indexes: readonly string[] = TENANT_INDEXES,
): Statement[] {
  if (typeof access !== 'string') {
    throw new Error('a tenant-access role grants whole-tenant access (read or readWrite), not key patterns');
  }
  const leading = { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...partitions] } };
  return [
    {
      Effect: 'Allow',
      Action: access === 'read' ? READ : [...READ, ...WRITE],
      Resource: tableArn,
      Condition: leading,
    },
    ...(indexes.length
      ? [
          {
            Effect: 'Allow' as const,
            Action: ['dynamodb:Query'],
            Resource: indexes.map((i) => `${tableArn}/index/${i}`),
            Condition: leading,
          },
        ]
      : []),
  ];
}

/**
 * The partition keys of one tenant's items in the tenants table: its own (profile, API key
 * records, sender IDs, webhook endpoints, monthly counters) and its Idempotency-Key claims
 * (`IDEMKEY#<id>`, exactly: no pattern of one tenant matches another's).
 */
export const SESSION_TENANT_RECORDS = [
  ...SESSION_TENANT_PARTITIONS,
  `${CLAIMS_PARTITION_PREFIX}${SESSION_TENANT}`,
];

/** A tenant-access role's statements for the tenants table (which has no index): the session tenant's items only. */
export const tenantsTableStatements = (tableArn: string, access: TableAccess): Statement[] =>
  tenantTableStatements(tableArn, access, SESSION_TENANT_RECORDS, []);

/**
 * The role a tenant-scoped function assumes for each tenant it serves, with the tenant's id as a
 * session tag (the SaaS reference pattern): its policies are the function's tenant-data grants,
 * limited to the items whose partition key is that tenant's and to KMS calls whose encryption
 * context names that tenant. Only the function's execution role may assume it, and only with a
 * tenant tag (sts:TagSession); the execution role itself keeps no access to tenant data.
 */
export class TenantAccessRole extends Construct {
  readonly role: Role;

  constructor(scope: Construct, id: string, fn: IFunction) {
    super(scope, id);
    const execution = present(fn.role, `${fn.node.id}'s execution role`);
    this.role = new Role(this, 'Role', {
      description: 'Tenant data of one tenant per session (session tag tenant)',
      assumedBy: new ArnPrincipal(execution.roleArn).withSessionTags().withConditions({
        StringLike: { [`aws:RequestTag/${TENANT_SESSION_TAG}`]: 'ten_*' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [TENANT_SESSION_TAG] },
      }),
    });
    // Tenant keys' own policies demand this tag of every principal that uses them.
    Tags.of(this.role).add(KEY_USER_TAG.key, KEY_USER_TAG.value);
    execution.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['sts:AssumeRole', 'sts:TagSession'],
        resources: [this.role.roleArn],
        conditions: { StringLike: { [`aws:RequestTag/${TENANT_SESSION_TAG}`]: 'ten_*' } },
      }),
    );
  }

  grantTable(tableArn: string, access: TableAccess): this {
    for (const s of tenantTableStatements(tableArn, access))
      this.role.addToPolicy(PolicyStatement.fromJson(s));
    return this;
  }

  grantTenantsTable(tableArn: string, access: TableAccess): this {
    for (const s of tenantsTableStatements(tableArn, access))
      this.role.addToPolicy(PolicyStatement.fromJson(s));
    return this;
  }

  useTenantKeys(account: string, access: TenantKeyAccess, regions: readonly string[]): this {
    for (const s of tenantKeyStatements(account, regions, access, SESSION_TENANT)) {
      this.role.addToPolicy(PolicyStatement.fromJson(s));
    }
    return this;
  }
}
