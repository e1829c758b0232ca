import { join } from 'node:path';
import { type Duration, RemovalPolicy, Tags, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { KEY_USER_TAG } from '../../layers/adapters/kms-key-service.ts';
import type { TableAccess } from '../../layers/declaration.ts';
import { present } from '../../layers/present.ts';
import { functionFile } from '../function-files.ts';
import { type TenantKeyAccess, tenantKeyStatements } from './tenant-key-grants.ts';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** How every function is bundled (esbuild on this machine, no Docker); exported for its test. */
export const BUNDLING = {
  forceDockerBundling: false,
  target: 'node22',
  format: OutputFormat.ESM,
  minify: true,
  // Minifying renames classes, and errors take their name from their class (`new.target.name`):
  // without this, logs and problem details name a NotFoundError `r`.
  keepNames: true,
  sourceMap: true,
  sourceMapMode: SourceMapMode.EXTERNAL,
  mainFields: ['module', 'main'],
  // Bundle the AWS SDK too (CDK leaves it out by default): the versions that run in Lambda
  // are then the locked ones the tests ran, not whatever the runtime ships that month.
  externalModules: [],
  // ESM output still meets CommonJS dependencies that call require().
  banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
};

export interface GatewayFunctionProps {
  /** The function's name: its handler is `functions/<capability>/<entry>.ts`. */
  entry: string;
  timeout: Duration;
  memorySize?: number;
  /** Exactly the function's declared settings (and NODE_OPTIONS, POWERTOOLS_*). */
  environment?: Record<string, string>;
  /** Reserved concurrency: both the function's floor and its cap. */
  reservedConcurrentExecutions?: number;
}

/**
 * The one way a gateway function is built: Node.js 22 on arm64, esbuild bundling on this
 * machine (no Docker) with source maps, active tracing, JSON logs in a log group with a
 * retention. Its environment and grants both come from its declaration (the stateless stack
 * reads `functions/<capability>/<name>.def.ts`), so the two cannot drift apart.
 */
export class GatewayFunction extends Construct {
  readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: GatewayFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.fn = new NodejsFunction(this, 'Function', {
      entry: functionFile(props.entry),
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      ...(props.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
        : {}),
      tracing: Tracing.ACTIVE,
      loggingFormat: LoggingFormat.JSON,
      logGroup,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      bundling: BUNDLING,
    });
    acknowledgeFunctionFindings(this);
  }

  /**
   * Grants a table: whole (read, or read and write), or only the items whose partition key
   * matches a pattern (the public flows' verification and block items, the SYSTEM secrets), plus
   * queries of named indexes.
   */
  grantTable(table: ITableV2, access: TableAccess): this {
    if (access === 'read') table.grantReadData(this.fn);
    else if (access === 'readWrite') table.grantReadWriteData(this.fn);
    else {
      // Each kind of item access, on the items whose partition key matches the patterns given.
      const onLeadingKeys = (actions: string[], keys: readonly string[] | undefined) => {
        if (!keys?.length) return;
        this.fn.addToRolePolicy(
          new PolicyStatement({
            actions,
            resources: [table.tableArn],
            conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...keys] } },
          }),
        );
      };
      onLeadingKeys(
        ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'],
        access.read,
      );
      onLeadingKeys(['dynamodb:PutItem', 'dynamodb:UpdateItem'], access.write);
      onLeadingKeys(['dynamodb:DeleteItem'], access.delete);
      if (access.queryIndexes?.length) {
        this.fn.addToRolePolicy(
          new PolicyStatement({
            actions: ['dynamodb:Query'],
            resources: access.queryIndexes.map((i) => `${table.tableArn}/index/${i}`),
          }),
        );
      }
    }
    return this;
  }

  /** Sending to a queue (consuming is granted by the event source). */
  grantSend(queue: IQueue): this {
    queue.grantSendMessages(this.fn);
    return this;
  }

  /** Sends SMS through End User Messaging in these regions (identities are registered outside the stack). */
  sendsSms(regions: string[]): this {
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['sms-voice:SendTextMessage'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:RequestedRegion': regions } },
      }),
    );
    return this;
  }

  /** A key by ARN or alias ARN (the system key, possibly in the global region). */
  useKeyArn(arn: string, actions: ('kms:GenerateDataKey' | 'kms:Decrypt' | 'kms:Encrypt')[]): this {
    const alias = /:(alias\/.+)$/.exec(arn)?.[1];
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions,
        resources: [alias ? arn.replace(/:alias\/.+$/, ':key/*') : arn],
        ...(alias ? { conditions: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': alias } } } : {}),
      }),
    );
    return this;
  }

  /**
   * Lets the function create and use tenant keys in the given regions (those of the
   * jurisdictions whose keys it touches; never another). Only keys with a tenant alias are
   * usable, and each key's own policy further demands the gateway role tag (set here) and the
   * tenant's encryption context. Only `admin` (closing accounts) may schedule a key's deletion.
   */
  useTenantKeys(account: string, access: TenantKeyAccess, regions: readonly string[]): this {
    Tags.of(present(this.fn.role, `${this.node.path}'s execution role`)).add(
      KEY_USER_TAG.key,
      KEY_USER_TAG.value,
    );
    for (const statement of tenantKeyStatements(account, regions, access)) {
      this.fn.addToRolePolicy(PolicyStatement.fromJson(statement));
    }
    return this;
  }
}

/**
 * cdk-nag findings every gateway function has on purpose, each with its reason. Wildcard
 * resources (AwsSolutions-IAM5) are acknowledged one by one by the stack, which knows them.
 */
function acknowledgeFunctionFindings(f: GatewayFunction) {
  const acknowledgements: [string, string][] = [
    [
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AWSLambdaBasicExecutionRole only lets the function write its logs; CDK attaches it to every function role.',
    ],
    [
      'AwsSolutions-L1',
      'Node.js 22 is the runtime the bundles target (esbuild target node22) and the tests run on.',
    ],
    ['Serverless-LambdaLatestVersion', 'Node.js 22 is the runtime the bundles target and the tests run on.'],
    [
      'Serverless-LambdaDLQ',
      "HTTP functions are invoked synchronously (the client gets the error); queue consumers rely on their SQS queue's redrive policy and DLQ.",
    ],
    [
      'Serverless-LambdaEventSourceMappingDestination',
      "SQS event sources cannot have an on-failure destination; failed records go to the queue's DLQ after 5 receives.",
    ],
  ];
  for (const [id, reason] of acknowledgements) Validations.of(f).acknowledge({ id, reason });
}
