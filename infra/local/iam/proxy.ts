import { randomUUID } from 'node:crypto';
import { Agent, createServer, request, type Server } from 'node:http';
import { present } from '../../../layers/present.ts';
import { ciphertextKeyId } from '../kms-stand-in.ts';
import {
  type AuthzRequest,
  authorizeKms,
  type Decision,
  evaluateIdentityPolicies,
  type PolicyDocument,
  type Principal,
} from './policy.ts';

/** The IAM role behind one access key id, as the local runtime gives it to one function. */
export interface LocalIdentity {
  accessKeyId: string;
  roleArn: string;
  roleName: string;
  policies: PolicyDocument[];
  tags: Record<string, string>;
}

/** A call the proxy refused, as a developer needs it to fix the template. */
export interface Denial {
  service: 'dynamodb' | 'sqs' | 'kms';
  role: string;
  action: string;
  resource: string;
  reason: string;
}

export interface IamProxyOptions {
  service: 'dynamodb' | 'sqs' | 'kms';
  /** Upstream endpoint (DynamoDB Local, the local SQS, the KMS stand-in, or a fault proxy in front of one). */
  target: string;
  account: string;
  /** The role behind an access key id; undefined = not a function (operator, test harness): passed through unchecked. */
  identityOf: (accessKeyId: string) => LocalIdentity | undefined;
  /**
   * Credentials the proxy itself uses upstream (so DynamoDB Local, which keeps one database per
   * access key id and region, sees one database).
   */
  upstreamCredentials: { accessKeyId: string; secretAccessKey: string };
  /** Calls let through without evaluation, e.g. the sandbox carrier's ledger table (a stand-in for handsets, not ours). */
  exempt?: (call: { action: string; resource: string }) => boolean;
  /** KMS only: how long an alias or tag change takes to affect authorization (AWS: up to five minutes). Default 0. */
  authorizationLagMs?: number;
  onDenied?: (d: Denial) => void;
}

type Context = NonNullable<AuthzRequest['context']>;
type Input = Record<string, unknown>;

/** One authorization a call needs. With a key policy it is decided as KMS does, else by identity policies alone. */
interface Check {
  action: string;
  resource: string;
  context: Context;
  keyPolicy?: PolicyDocument;
}

/** An answer the proxy gives instead of forwarding the call. */
interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Which attribute is the partition key of a table and of each of its indexes. */
interface KeySchema {
  partition: string;
  indexes: Record<string, string>;
}

/** A table's name, from its name or ARN. */
const tableNameOf = (table: string) => table.replace(/^arn:[^:]+:dynamodb:[^:]*:\d*:table\//, '');

/** The gateway's tables all key on `pk`; assumed for a table that cannot be described. */
const DEFAULT_PARTITION_KEY = 'pk';

interface Call {
  identity: LocalIdentity;
  region: string;
  operation: string;
  input: Input;
  queryMode: boolean;
}

const CREDENTIAL = /Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request/;

/** The statement KMS gives a key created without a policy: the account's IAM policies decide. */
const defaultKeyPolicy = (account: string): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Enable IAM User Permissions',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${account}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
});

/**
 * An HTTP proxy in front of one local AWS service that authorizes each call of a Lambda
 * function's role as AWS would (IAM identity policies; for KMS also the key policy, aliases and
 * tags) and answers a refused call with that service's own AccessDeniedException. Calls signed
 * with an access key id that names no role pass unchecked. The SigV4 signature is not verified
 * (neither do the local servers); the access key id is replaced by the proxy's own before
 * forwarding, so every function lands in the same DynamoDB Local database.
 */
export async function startIamProxy(
  o: IamProxyOptions,
): Promise<{ endpoint: string; denials: Denial[]; close(): Promise<void> }> {
  const denials: Denial[] = [];
  const upstream = new URL(o.target);
  // Connections to the upstream server are kept and reused: a new TCP connection per call to
  // DynamoDB Local cost more than the call itself.
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const lag = o.authorizationLagMs ?? 0;

  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const auth = String(req.headers.authorization ?? '');
    const scope = CREDENTIAL.exec(auth);
    // Both groups take part in every match of the credential scope.
    const identity = scope
      ? o.identityOf(present(scope[1], 'the access key id of a credential scope'))
      : undefined;
    if (identity && scope) {
      let input: Input | undefined;
      try {
        input = JSON.parse(body.toString('utf8') || '{}') as Input;
      } catch {
        // Not JSON: the service itself will refuse it.
      }
      if (input) {
        const call: Call = {
          identity,
          region: present(scope[3], 'the region of a credential scope'),
          operation: String(req.headers['x-amz-target'] ?? '').replace(/^.*\./, ''),
          input,
          queryMode: req.headers['x-amzn-query-mode'] === 'true',
        };
        const answer = await authorizeCall(call).catch((e: Error): Answer => {
          // A policy the evaluator cannot read (UnsupportedPolicyError) must be seen, not waved through.
          process.stderr.write(`IAM proxy: could not authorize ${call.operation}: ${e.message}\n`);
          return json(500, o.service, 'InternalFailure', `IAM proxy: ${e.message}`);
        });
        if (answer) {
          res.writeHead(answer.status, answer.headers).end(answer.body);
          return;
        }
      }
    }
    const headers = {
      ...req.headers,
      'content-length': String(body.length),
      ...(scope
        ? {
            authorization: auth.replace(CREDENTIAL, (m, id: string) =>
              m.replace(id, o.upstreamCredentials.accessKeyId),
            ),
          }
        : {}),
    };
    const forward = request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers, agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.writeHead(502).end());
    forward.end(body);
  });

  async function authorizeCall(call: Call): Promise<Answer | undefined> {
    const principal: Principal = { arn: call.identity.roleArn, account: o.account, tags: call.identity.tags };
    // The evaluator derives aws:PrincipalArn, aws:PrincipalAccount and aws:PrincipalTag/* from the principal.
    const base: Context = { 'aws:RequestedRegion': call.region };
    const checks =
      o.service === 'dynamodb'
        ? await dynamodbChecks(call)
        : o.service === 'sqs'
          ? sqsChecks(call)
          : await kmsChecks(call);
    if (!Array.isArray(checks)) return checks;
    for (const check of checks) {
      if (o.exempt?.({ action: check.action, resource: check.resource })) continue;
      const req: AuthzRequest = {
        action: check.action,
        resource: check.resource,
        principal,
        context: { ...base, ...check.context },
      };
      const decision = check.keyPolicy
        ? authorizeKms(check.keyPolicy, call.identity.policies, req)
        : evaluateIdentityPolicies(call.identity.policies, req);
      if (decision === 'allow') continue;
      const reason = explain(decision, check, req, call.identity.policies);
      deny(call, check, reason);
      return accessDenied(call, check, reason);
    }
    if (o.service === 'kms') return lockoutCheck(call, principal, base);
    return undefined;
  }

  function deny(call: Call, check: { action: string; resource: string }, reason: string) {
    const d: Denial = {
      service: o.service,
      role: call.identity.roleName,
      action: check.action,
      resource: check.resource,
      reason,
    };
    denials.push(d);
    process.stderr.write(`IAM denied: role ${d.role} may not ${d.action} on ${d.resource} (${reason})\n`);
    o.onDenied?.(d);
  }

  function accessDenied(call: Call, check: Check, reason: string): Answer {
    const user = `arn:aws:sts::${o.account}:assumed-role/${call.identity.roleName}/${call.identity.roleName}`;
    // SQS writes the action in lower case in this message ("sqs:sendmessage").
    const action = o.service === 'sqs' ? check.action.toLowerCase() : check.action;
    const message = `User: ${user} is not authorized to perform: ${action} on resource: ${check.resource} ${reason.replaceAll(check.action, action)}`;
    if (o.service === 'dynamodb')
      return json(400, 'dynamodb', 'com.amazonaws.dynamodb.v20120810#AccessDeniedException', message);
    if (o.service === 'kms') return json(400, 'kms', 'AccessDeniedException', message);
    // SQS over JSON keeps its query-protocol error code in a header, which the SDKs (asking with
    // x-amzn-query-mode) use as the error's name: "AccessDenied", as before the JSON protocol.
    const answer = json(403, 'sqs', 'com.amazon.coral.service#AccessDeniedException', message);
    if (call.queryMode) answer.headers['x-amzn-query-error'] = 'AccessDenied;Sender';
    return answer;
  }

  async function dynamodbChecks({ operation, input, region }: Call): Promise<Check[] | Answer> {
    const tableArn = (name: unknown) => {
      const n = String(name);
      return n.startsWith('arn:') ? n : `arn:aws:dynamodb:${region}:${o.account}:table/${n}`;
    };
    // Every table the call names, with its key schema, before the checks (which are synchronous).
    const tables = new Map<string, KeySchema | undefined>();
    for (const name of tableNames(operation, input)) tables.set(name, await keySchemaOf(name, region));
    // An index added since the table was described (provisioning adds missing ones): described again.
    const index = input.IndexName;
    const table = String(input.TableName);
    if (typeof index === 'string' && tables.get(table) && !tables.get(table)?.indexes[index]) {
      schemas.delete(`${region}/${tableNameOf(table)}`);
      tables.set(table, await keySchemaOf(table, region));
    }
    const partitionOf = (table: unknown) => tables.get(String(table))?.partition ?? DEFAULT_PARTITION_KEY;
    const check = (
      action: string,
      table: unknown,
      items?: unknown[],
      index?: unknown,
      partition = partitionOf(table),
    ): Check => {
      const keys = items && itemLeadingKeys(items, partition);
      return {
        action: `dynamodb:${action}`,
        resource: typeof index === 'string' ? `${tableArn(table)}/index/${index}` : tableArn(table),
        context: keys ? { 'dynamodb:LeadingKeys': keys } : {},
      };
    };
    switch (operation) {
      case 'GetItem':
      case 'UpdateItem':
      case 'DeleteItem':
        return [check(operation, input.TableName, [input.Key])];
      case 'PutItem':
        return [check(operation, input.TableName, [input.Item])];
      case 'Query': {
        // A Query names one partition: on an index, the index's (DynamoDB's IAM guide calls
        // dynamodb:LeadingKeys "the partition key"; a Query on an index can only bind the index's).
        // Left out, ForAllValues would hold over the absent key and any partition would pass.
        const schema = tables.get(String(input.TableName));
        const attribute =
          typeof input.IndexName === 'string'
            ? schema?.indexes[input.IndexName]
            : (schema?.partition ?? DEFAULT_PARTITION_KEY);
        const key = attribute === undefined ? undefined : queryPartitionKey(input, attribute);
        // (An index or table that does not exist is the service's to report.)
        if (key === undefined && schema !== undefined && attribute !== undefined) {
          const message = `IAM proxy: no equality on the partition key ${attribute} in this Query's key condition, so dynamodb:LeadingKeys cannot be told`;
          process.stderr.write(`${message}\n`);
          return json(500, 'dynamodb', 'InternalFailure', message);
        }
        const items = key === undefined || attribute === undefined ? undefined : [{ [attribute]: key }];
        return [check(operation, input.TableName, items, input.IndexName, attribute)];
      }
      case 'Scan':
        return [check(operation, input.TableName, undefined, input.IndexName)];
      case 'BatchGetItem':
        return Object.entries((input.RequestItems ?? {}) as Record<string, { Keys?: unknown[] }>).map(
          ([table, r]) => check(operation, table, r.Keys ?? []),
        );
      case 'BatchWriteItem':
        return Object.entries(
          (input.RequestItems ?? {}) as Record<
            string,
            { PutRequest?: { Item?: unknown }; DeleteRequest?: { Key?: unknown } }[]
          >,
        ).map(([table, writes]) =>
          check(
            operation,
            table,
            writes.map((w) => w.PutRequest?.Item ?? w.DeleteRequest?.Key),
          ),
        );
      case 'TransactWriteItems':
        // There is no IAM action for the transaction itself: each item needs its own action.
        return (
          (input.TransactItems ?? []) as Record<
            string,
            { TableName?: unknown; Key?: unknown; Item?: unknown }
          >[]
        ).map((t) => {
          if (t.Put) return check('PutItem', t.Put.TableName, [t.Put.Item]);
          if (t.Update) return check('UpdateItem', t.Update.TableName, [t.Update.Key]);
          if (t.Delete) return check('DeleteItem', t.Delete.TableName, [t.Delete.Key]);
          return check('ConditionCheckItem', t.ConditionCheck?.TableName, [t.ConditionCheck?.Key]);
        });
      case 'TransactGetItems':
        return ((input.TransactItems ?? []) as { Get?: { TableName?: unknown; Key?: unknown } }[]).map((t) =>
          check('GetItem', t.Get?.TableName, [t.Get?.Key]),
        );
      default: {
        const table = input.TableName ?? input.ResourceArn;
        if (table !== undefined) return [check(operation, table)];
        return [{ action: `dynamodb:${operation}`, resource: '*', context: {} }];
      }
    }
  }

  function sqsChecks({ operation, input, region }: Call): Check[] {
    const action = `sqs:${BATCH_ACTIONS[operation] ?? operation}`;
    const name =
      typeof input.QueueUrl === 'string'
        ? new URL(input.QueueUrl).pathname.split('/').filter(Boolean).pop()
        : typeof input.QueueName === 'string'
          ? input.QueueName
          : undefined;
    const resource = name ? `arn:aws:sqs:${region}:${o.account}:${name}` : '*';
    return [{ action, resource, context: {} }];
  }

  async function kmsChecks(call: Call): Promise<Check[] | Answer> {
    const { operation, input, region } = call;
    const action = `kms:${operation}`;
    const aliasArn = (name: unknown) => `arn:aws:kms:${region}:${o.account}:${String(name)}`;
    const keyCheck = async (keyId: unknown, context: Context = {}): Promise<Check | Answer | undefined> => {
      const key = await resolveKey(keyId, region);
      if (!key || 'status' in key) return key;
      const named = typeof keyId === 'string' ? /(?:^|:)(alias\/.+)$/.exec(keyId)?.[1] : undefined;
      return {
        action,
        resource: key.arn,
        keyPolicy: key.policy,
        context: {
          ...(named ? { 'kms:RequestAlias': named } : {}),
          'kms:ResourceAliases': key.aliases,
          ...Object.fromEntries(Object.entries(key.tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v])),
          'kms:CallerAccount': o.account,
          ...encryptionContext(input.EncryptionContext),
          ...context,
        },
      };
    };
    const all = async (parts: (Check | Promise<Check | Answer | undefined>)[]): Promise<Check[] | Answer> => {
      const done = await Promise.all(parts);
      const failed = done.find((p): p is Answer => p !== undefined && 'status' in p);
      return failed ?? done.filter((p): p is Check => p !== undefined);
    };
    switch (operation) {
      case 'CreateKey':
        return [{ action, resource: '*', context: requestTags(input.Tags) }];
      case 'ListKeys':
      case 'ListAliases':
        return [{ action, resource: '*', context: {} }];
      // An alias operation needs permission for the alias (IAM only: key policies govern keys)
      // and for each key it touches.
      case 'CreateAlias':
        return all([
          { action, resource: aliasArn(input.AliasName), context: {} },
          keyCheck(input.TargetKeyId),
        ]);
      case 'DeleteAlias':
        return all([{ action, resource: aliasArn(input.AliasName), context: {} }, keyCheck(input.AliasName)]);
      case 'UpdateAlias':
        return all([
          { action, resource: aliasArn(input.AliasName), context: {} },
          keyCheck(input.AliasName),
          keyCheck(input.TargetKeyId),
        ]);
      case 'TagResource':
        return all([keyCheck(input.KeyId, requestTags(input.Tags))]);
      case 'UntagResource':
        return all([
          keyCheck(
            input.KeyId,
            Array.isArray(input.TagKeys) ? { 'aws:TagKeys': input.TagKeys.map(String) } : {},
          ),
        ]);
      case 'Decrypt': {
        const blob = Buffer.from(String(input.CiphertextBlob ?? ''), 'base64');
        return all([keyCheck(input.KeyId ?? ciphertextKeyId(blob))]);
      }
      default:
        return all([keyCheck(input.KeyId)]);
    }
  }

  /**
   * KMS refuses a key policy (CreateKey, PutKeyPolicy) that would not let the caller change it
   * again, unless the caller bypasses the check.
   */
  async function lockoutCheck(call: Call, principal: Principal, base: Context): Promise<Answer | undefined> {
    const { operation, input, region } = call;
    if (operation !== 'CreateKey' && operation !== 'PutKeyPolicy') return undefined;
    if (typeof input.Policy !== 'string' || input.BypassPolicyLockoutSafetyCheck === true) return undefined;
    let policy: PolicyDocument;
    try {
      policy = JSON.parse(input.Policy) as PolicyDocument;
    } catch {
      return json(400, 'kms', 'MalformedPolicyDocumentException', 'The policy document is not valid JSON.');
    }
    let resource = `arn:aws:kms:${region}:${o.account}:key/${randomUUID()}`;
    let tags: Context = Object.fromEntries(
      Object.entries(requestTags(input.Tags))
        .filter(([k]) => k.startsWith('aws:RequestTag/'))
        .map(([k, v]) => [k.replace('aws:RequestTag/', 'aws:ResourceTag/'), v]),
    );
    if (operation === 'PutKeyPolicy') {
      const key = await resolveKey(input.KeyId, region);
      if (!key || 'status' in key) return key;
      resource = key.arn;
      tags = Object.fromEntries(Object.entries(key.tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
    }
    const decision = authorizeKms(policy, call.identity.policies, {
      action: 'kms:PutKeyPolicy',
      resource,
      principal,
      context: { ...base, 'kms:CallerAccount': o.account, ...tags },
    });
    if (decision === 'allow') return undefined;
    deny(
      call,
      { action: 'kms:PutKeyPolicy', resource },
      `key policy lockout safety check: the new key policy would not let this role update it, so ${operation} is refused`,
    );
    return json(
      400,
      'kms',
      'MalformedPolicyDocumentException',
      'The new key policy will not allow you to update the key policy in the future.',
    );
  }

  /** The key's ARN, policy, and the aliases and tags old enough to count for authorization. */
  async function resolveKey(
    keyId: unknown,
    region: string,
  ): Promise<
    | { arn: string; policy: PolicyDocument; aliases: string[]; tags: Record<string, string> }
    | Answer
    | undefined
  > {
    if (typeof keyId !== 'string' || keyId === '') return undefined;
    const described = await kms('DescribeKey', { KeyId: keyId }, region);
    // A key that does not exist is the service's to report (NotFoundException), not ours.
    if ('status' in described) return described.status < 500 ? undefined : described;
    const meta = described.out.KeyMetadata as { Arn: string; KeyId: string };
    const [policy, aliases, tags] = await Promise.all([
      kms('GetKeyPolicy', { KeyId: meta.KeyId, PolicyName: 'default' }, region),
      kms('ListAliases', { KeyId: meta.KeyId }, region),
      kms('ListResourceTags', { KeyId: meta.KeyId }, region),
    ]);
    for (const r of [policy, aliases, tags]) if ('status' in r) return r;
    const out = (r: typeof policy) => (r as { out: Input }).out;
    const settled = (changedAtSeconds: unknown) => Date.now() - Number(changedAtSeconds ?? 0) * 1000 >= lag;
    const text = out(policy).Policy;
    const changedAt = (out(tags).LocalTagChangedAt ?? {}) as Record<string, number>;
    return {
      arn: meta.Arn,
      policy:
        typeof text === 'string' && text !== ''
          ? (JSON.parse(text) as PolicyDocument)
          : defaultKeyPolicy(o.account),
      aliases: ((out(aliases).Aliases ?? []) as { AliasName: string; LastUpdatedDate?: number }[])
        .filter((a) => settled(a.LastUpdatedDate))
        .map((a) => a.AliasName),
      tags: Object.fromEntries(
        ((out(tags).Tags ?? []) as { TagKey: string; TagValue: string }[])
          .filter((t) => settled(changedAt[t.TagKey]))
          .map((t) => [t.TagKey, t.TagValue]),
      ),
    };
  }

  /** One call to the upstream KMS with the proxy's own credentials, in the caller's region. */
  const kms = (operation: string, input: Input, region: string) =>
    upstreamCall('kms', `TrentService.${operation}`, input, region);

  /**
   * A table's partition key attribute and its indexes' (from DescribeTable upstream, once per table
   * and region); undefined when the table cannot be described (it does not exist: the call fails
   * upstream anyway).
   */
  const schemas = new Map<string, Promise<KeySchema | undefined>>();
  function keySchemaOf(table: string, region: string): Promise<KeySchema | undefined> {
    const name = tableNameOf(table);
    const cacheKey = `${region}/${name}`;
    let known = schemas.get(cacheKey);
    if (!known) {
      known = upstreamCall('dynamodb', 'DynamoDB_20120810.DescribeTable', { TableName: name }, region).then(
        (r) => {
          if ('status' in r) {
            schemas.delete(cacheKey);
            return undefined;
          }
          type Described = {
            KeySchema?: { AttributeName: string; KeyType: string }[];
            GlobalSecondaryIndexes?: { IndexName: string; KeySchema?: Described['KeySchema'] }[];
            LocalSecondaryIndexes?: { IndexName: string; KeySchema?: Described['KeySchema'] }[];
          };
          const t = (r.out.Table ?? {}) as Described;
          const hash = (k: Described['KeySchema']) => k?.find((e) => e.KeyType === 'HASH')?.AttributeName;
          return {
            partition: hash(t.KeySchema) ?? DEFAULT_PARTITION_KEY,
            indexes: Object.fromEntries(
              [...(t.GlobalSecondaryIndexes ?? []), ...(t.LocalSecondaryIndexes ?? [])].flatMap((i) => {
                const h = hash(i.KeySchema);
                return h ? [[i.IndexName, h]] : [];
              }),
            ),
          };
        },
        () => {
          schemas.delete(cacheKey);
          return undefined;
        },
      );
      schemas.set(cacheKey, known);
    }
    return known;
  }

  /** One JSON call to the upstream service with the proxy's own credentials, in the caller's region. */
  function upstreamCall(
    service: 'kms' | 'dynamodb',
    target: string,
    input: Input,
    region: string,
  ): Promise<{ out: Input } | Answer> {
    const body = Buffer.from(JSON.stringify(input));
    const contentType = CONTENT_TYPES[service];
    return new Promise((resolve, reject) => {
      const call = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          agent,
          path: '/',
          method: 'POST',
          headers: {
            'content-type': contentType,
            'content-length': String(body.length),
            'x-amz-target': target,
            authorization: `AWS4-HMAC-SHA256 Credential=${o.upstreamCredentials.accessKeyId}/20000101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
          },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => {
            const text = Buffer.concat(parts).toString('utf8');
            const status = res.statusCode ?? 502;
            if (status === 200) resolve({ out: JSON.parse(text || '{}') as Input });
            else resolve({ status, headers: { 'content-type': contentType }, body: text });
          });
        },
      );
      call.on('error', reject);
      call.end(body);
    });
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    denials,
    close: () =>
      new Promise<void>((r) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const BATCH_ACTIONS: Record<string, string> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};

const CONTENT_TYPES = {
  dynamodb: 'application/x-amz-json-1.0',
  sqs: 'application/x-amz-json-1.0',
  kms: 'application/x-amz-json-1.1',
};

function json(status: number, service: keyof typeof CONTENT_TYPES, type: string, message: string): Answer {
  return {
    status,
    headers: { 'content-type': CONTENT_TYPES[service], 'x-amzn-requestid': randomUUID() },
    body: JSON.stringify({ __type: type, message }),
  };
}

/** Why IAM refused, in the words AWS uses at the end of its AccessDenied message. */
function explain(decision: Decision, check: Check, req: AuthzRequest, identity: PolicyDocument[]): string {
  // For a key, tell the two policies apart: which one failed is what the developer must fix.
  const byIdentity = check.keyPolicy ? evaluateIdentityPolicies(identity, req) : decision;
  if (decision === 'explicit-deny')
    return byIdentity === 'explicit-deny'
      ? 'with an explicit deny in an identity-based policy'
      : 'with an explicit deny in a resource-based policy';
  return byIdentity === 'allow'
    ? `because no resource-based policy allows the ${check.action} action`
    : `because no identity-based policy allows the ${check.action} action`;
}

/** The partition key values of the items a call touches. */
function itemLeadingKeys(items: unknown[], partition: string): string[] | undefined {
  const values = items.flatMap((item) => {
    const pk = (item as Record<string, Record<string, unknown>> | undefined)?.[partition];
    const v = pk?.S ?? pk?.N ?? pk?.B;
    return v === undefined ? [] : [String(v)];
  });
  return values.length > 0 ? [...new Set(values)] : undefined;
}

/** The value a Query's key condition binds the partition key attribute to (always a plain equality). */
function queryPartitionKey(input: Input, attribute: string): unknown {
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
  if (typeof input.KeyConditionExpression === 'string') {
    for (const part of input.KeyConditionExpression.split(/\s+AND\s+/i)) {
      const m = /^\s*\(?\s*([#:]?\w+)\s*=\s*([#:]?\w+)\s*\)?\s*$/.exec(part);
      if (!m) continue;
      // Both groups take part in every match: the defaults are never used.
      const [, left = '', right = ''] = m;
      const [name, value] = left.startsWith(':') ? [right, left] : [left, right];
      if ((names[name] ?? name) === attribute && value.startsWith(':')) return values[value];
    }
    return undefined;
  }
  const legacy = (
    input.KeyConditions as
      | Record<string, { ComparisonOperator?: string; AttributeValueList?: unknown[] }>
      | undefined
  )?.[attribute];
  return legacy?.ComparisonOperator === 'EQ' ? legacy.AttributeValueList?.[0] : undefined;
}

/** The tables a DynamoDB call names (their key schemas decide which attribute is the partition key). */
function tableNames(operation: string, input: Input): string[] {
  const names = new Set<string>();
  if (typeof input.TableName === 'string') names.add(input.TableName);
  if (operation === 'BatchGetItem' || operation === 'BatchWriteItem')
    for (const t of Object.keys((input.RequestItems ?? {}) as object)) names.add(t);
  if (operation === 'TransactWriteItems' || operation === 'TransactGetItems')
    for (const t of (input.TransactItems ?? []) as Record<string, { TableName?: unknown } | undefined>[])
      for (const part of Object.values(t)) if (typeof part?.TableName === 'string') names.add(part.TableName);
  return [...names];
}

function encryptionContext(context: unknown): Context {
  if (!context || typeof context !== 'object') return {};
  const entries = Object.entries(context as Record<string, string>);
  return {
    ...Object.fromEntries(entries.map(([k, v]) => [`kms:EncryptionContext:${k}`, v])),
    'kms:EncryptionContextKeys': entries.map(([k]) => k),
  };
}

function requestTags(tags: unknown): Context {
  if (!Array.isArray(tags)) return {};
  const list = tags as { TagKey: string; TagValue: string }[];
  return {
    ...Object.fromEntries(list.map((t) => [`aws:RequestTag/${t.TagKey}`, t.TagValue])),
    'aws:TagKeys': list.map((t) => t.TagKey),
  };
}
