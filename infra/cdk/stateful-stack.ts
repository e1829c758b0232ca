import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, Billing, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  QUEUES,
  type QueueDefinition,
  SYSTEM_KEY_ALIAS,
  TABLES,
  type TableDefinition,
  visibilityTimeoutSeconds,
} from '../resources.ts';

/** Tables, queues and keys: what holds data, deployed apart from the code so code deploys never touch it. */
export class StatefulStack extends Stack {
  readonly tenants: TableV2;
  readonly messages: TableV2;
  readonly dispatchQueue: Queue;
  readonly carrierEventsQueue: Queue;
  readonly systemKey: Key;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.tenants = this.table(TABLES.tenants);
    this.messages = this.table(TABLES.messages);
    this.dispatchQueue = this.queue(QUEUES.dispatch);
    this.carrierEventsQueue = this.queue(QUEUES.carrierEvents);
    this.systemKey = new Key(this, 'SystemKey', {
      description: 'SMS gateway system key: wraps the API key pepper',
      enableKeyRotation: true,
      alias: SYSTEM_KEY_ALIAS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  private table(def: TableDefinition): TableV2 {
    return new TableV2(this, def.id, {
      partitionKey: { name: def.partitionKey, type: AttributeType.STRING },
      sortKey: { name: def.sortKey, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      timeToLiveAttribute: def.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      globalSecondaryIndexes: def.indexes.map((i) => ({
        indexName: i.name,
        partitionKey: { name: i.partitionKey, type: AttributeType.STRING },
        sortKey: { name: i.sortKey, type: AttributeType.STRING },
      })),
    });
  }

  private queue(def: QueueDefinition): Queue {
    const dlq = new Queue(this, `${def.id}Dlq`, {
      retentionPeriod: Duration.days(def.dlqRetentionDays),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    return new Queue(this, `${def.id}Queue`, {
      visibilityTimeout: Duration.seconds(visibilityTimeoutSeconds(def)),
      retentionPeriod: Duration.days(def.retentionDays),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: dlq, maxReceiveCount: def.maxReceiveCount },
    });
  }
}
