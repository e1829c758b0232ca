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
  /** `functions/<entry>.ts` */
  entry: string;
  timeout: Duration;
  memorySize?: number;
  environment?: Record<string, string>;
}

/**
 * The one way a gateway function is built: Node.js 22 on arm64, esbuild bundling on this
 * machine (no Docker) with source maps, active tracing, JSON logs in a log group with a
 * retention. Resources are bound with `use*`, which sets the environment variable and grants
 * the matching permission in one call, so the two cannot drift apart.
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
      entry: join(REPO_ROOT, 'functions', `${props.entry}.ts`),
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      tracing: Tracing.ACTIVE,
      loggingFormat: LoggingFormat.JSON,
      logGroup,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      bundling: BUNDLING,
    });
    acknowledgeFunctionFindings(this);
  }

  useTable(table: ITableV2, access: 'read' | 'readWrite', envName: string): this {
    this.fn.addEnvironment(envName, table.tableName);
    if (access === 'read') table.grantReadData(this.fn);
    else table.grantReadWriteData(this.fn);
    return this;
  }

  useQueue(queue: IQueue, access: 'send', envName: string): this {
    this.fn.addEnvironment(envName, queue.queueUrl);
    if (access === 'send') queue.grantSendMessages(this.fn);
    return this;
  }

  /** A key by ARN or alias ARN (the system key, possibly in the global region). */
  useKeyArn(arn: string, envName: string, actions: ('kms:GenerateDataKey' | 'kms:Decrypt')[]): this {
    this.fn.addEnvironment(envName, arn);
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
   * Lets the function create and use tenant keys in any region of the account. Only keys with
   * a tenant alias are usable, and each key's own policy further demands the gateway role tag
   * (set here) and the tenant's encryption context.
   */
  useTenantKeys(account: string, access: 'read' | 'write' | 'admin'): this {
    Tags.of(this.fn.role!).add(KEY_USER_TAG.key, KEY_USER_TAG.value);
    const tenantKeys = { 'ForAnyValue:StringLike': { 'kms:ResourceAliases': 'alias/sms-gateway/tenant/*' } };
    if (access === 'read') {
      // Readers only unwrap data keys; they never create keys or wrap new data.
      this.fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [`arn:aws:kms:*:${account}:key/*`],
          conditions: tenantKeys,
        }),
      );
      return this;
    }
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['kms:CreateKey', 'kms:TagResource'],
        resources: ['*'],
        conditions: { StringLike: { 'aws:RequestTag/sms-gateway:tenant': 'ten_*' } },
      }),
    );
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['kms:CreateAlias', 'kms:DescribeKey'],
        resources: [`arn:aws:kms:*:${account}:alias/sms-gateway/tenant/*`, `arn:aws:kms:*:${account}:key/*`],
      }),
    );
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions: [
          'kms:GenerateDataKey',
          'kms:Decrypt',
          ...(access === 'admin' ? ['kms:ScheduleKeyDeletion'] : []),
        ],
        resources: [`arn:aws:kms:*:${account}:key/*`],
        conditions: tenantKeys,
      }),
    );
    // A key that lost a creation race is retired at once; it never had an alias.
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['kms:ScheduleKeyDeletion'],
        resources: [`arn:aws:kms:*:${account}:key/*`],
        conditions: { StringLike: { 'aws:ResourceTag/sms-gateway:tenant': 'ten_*' } },
      }),
    );
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
