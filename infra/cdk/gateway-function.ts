import { join } from 'node:path';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

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
      bundling: {
        forceDockerBundling: false,
        target: 'node22',
        format: OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.EXTERNAL,
        mainFields: ['module', 'main'],
        // Bundle the AWS SDK too (CDK leaves it out by default): the versions that run in Lambda
        // are then the locked ones the tests ran, not whatever the runtime ships that month.
        externalModules: [],
        // ESM output still meets CommonJS dependencies that call require().
        banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
    });
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

  useKey(key: IKey, envName: string, actions: ('kms:GenerateDataKey' | 'kms:Decrypt')[]): this {
    this.fn.addEnvironment(envName, key.keyArn);
    key.grant(this.fn, ...actions);
    return this;
  }
}
