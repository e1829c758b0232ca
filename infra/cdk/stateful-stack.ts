import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AttributeType, Billing, type ITableV2, ProjectionType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Alias, type IKey, Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { Jurisdiction } from '../../layers/core/model.ts';
import {
  projectionOf,
  QUEUES,
  type QueueDefinition,
  SYSTEM_KEY_ALIAS,
  TABLES,
  type TableDefinition,
  visibilityTimeoutSeconds,
} from '../resources.ts';
import { physicalNames, TENANTS_TABLE_NAME } from './names.ts';

export interface StatefulStackProps extends StackProps {
  jurisdiction: Jurisdiction;
  /**
   * The global jurisdiction: the regions where the tenants table has replicas (the EU region), so
   * that each region reads tenants and writes its counters without calling this one.
   */
  tenantsReplicaRegions?: readonly string[];
  /** Whether AWS End User Messaging is the carrier: adds the topic its events arrive on. */
  eumEvents?: boolean;
  /**
   * Redeploying after the stack was deleted: the retained tables (fixed names) and the retained
   * system key (it wraps the stored API key pepper) are taken over instead of created anew, so
   * no name collides and every API key keeps working. From `-c adoptRetained=true -c
   * systemKeyArn=<arn>` (README: "Lifecycle").
   */
  adopt?: { systemKeyArn?: string | undefined };
}

/**
 * Tables, queues and keys of one jurisdiction: what holds data, deployed apart from the code so
 * code deploys never touch it. The global jurisdiction also holds the tenants table (a global
 * table with a replica in the EU region) and the system key (no data about recipients); the EU
 * jurisdiction holds its own system key, for its copy of the system secrets. Tenant keys are not here: the gateway creates one per
 * tenant and jurisdiction at run time.
 */
export class StatefulStack extends Stack {
  readonly tenants: ITableV2 | undefined;
  readonly messages: ITableV2;
  readonly dispatchQueue: Queue;
  readonly carrierEventsQueue: Queue;
  readonly auditQueue: Queue;
  readonly webhookQueue: Queue;
  readonly systemKey: IKey | undefined;
  /** With End User Messaging: where its delivery events and two-way replies are published. */
  readonly carrierEventsTopic: Topic | undefined;
  /** With End User Messaging: what the topic's subscriber could not be handed, or failed to handle. */
  readonly carrierEventsTopicDlq: Queue | undefined;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    // Deleting this stack would orphan the data it retains and block a redeploy on its fixed
    // names: an operator has to lift the protection on purpose (README: "Lifecycle").
    super(scope, id, { terminationProtection: true, ...props });
    const names = physicalNames(props.jurisdiction);
    const adopting = props.adopt !== undefined;
    this.messages = adopting
      ? TableV2.fromTableName(this, TABLES.messages.id, names.messagesTable)
      : this.table(TABLES.messages, names.messagesTable);
    this.dispatchQueue = this.queue(QUEUES.dispatch, names.dispatchQueue);
    this.carrierEventsQueue = this.queue(QUEUES.carrierEvents, names.carrierEventsQueue);
    this.auditQueue = this.queue(QUEUES.audit, names.auditQueue);
    this.webhookQueue = this.queue(QUEUES.webhooks, names.webhookQueue);
    if (props.eumEvents) {
      // It holds what End User Messaging published, in clear (a reply's number and words): kept
      // 4 days, long enough for an operator to fix the cause and publish it again over a weekend,
      // no longer (README: "What is encrypted").
      this.carrierEventsTopicDlq = this.deadLetterQueue(
        'CarrierEventsTopicDlq',
        { ...QUEUES.carrierEvents, dlqRetentionDays: 4 },
        "This is the dead-letter queue of the carrier events topic's subscriber: what SNS could not hand to it, or it failed to handle, waits here for an operator.",
      );
      Validations.of(this.carrierEventsTopicDlq).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason:
          "This is a dead-letter queue, named by the SNS subscription's RedrivePolicy and the function's on-failure destination: cdk-nag only recognises queues and functions as its users.",
      });
      this.carrierEventsTopic = this.eumEventsTopic();
    }
    if (props.jurisdiction === 'global') {
      this.tenants = adopting
        ? TableV2.fromTableName(this, TABLES.tenants.id, TENANTS_TABLE_NAME)
        : this.table(TABLES.tenants, TENANTS_TABLE_NAME, props.tenantsReplicaRegions ?? []);
      if (props.adopt?.systemKeyArn) {
        // The retained key and its retained alias are used as they are.
        this.systemKey = Key.fromKeyArn(this, 'SystemKey', props.adopt.systemKeyArn);
      } else {
        const key = new Key(this, 'SystemKey', {
          description: 'SMS gateway system key: wraps the API key pepper',
          enableKeyRotation: true,
          alias: SYSTEM_KEY_ALIAS,
          removalPolicy: RemovalPolicy.RETAIN,
        });
        // The alias stays with the key: the EU region's functions name the key by its alias.
        key.node.findAll().forEach((c) => {
          if (c instanceof Alias) c.applyRemovalPolicy(RemovalPolicy.RETAIN);
        });
        this.systemKey = key;
      }
    } else {
      // Wraps this region's copy of the system secrets, so the EU region never needs the global
      // region's KMS to serve. Only a cache of what the global key wraps: deleting it with the
      // stack costs one call to the global region on the next start (the copy is made again).
      this.systemKey = new Key(this, 'SystemKey', {
        description: "SMS gateway system key: wraps this region's copy of the API key pepper",
        enableKeyRotation: true,
        alias: SYSTEM_KEY_ALIAS,
        removalPolicy: RemovalPolicy.DESTROY,
        pendingWindow: Duration.days(7),
      });
    }
  }

  /**
   * The topic End User Messaging publishes to (the configuration set's event destination, and the
   * two-way channel of each number: set it to the `CarrierEventsTopicArn` output). Its one
   * subscriber is a function (receive-eum-events, in the stateless stack), never a queue: a reply
   * carries the person's number and words, a delivery event the recipient's number.
   */
  private eumEventsTopic(): Topic {
    const topic = new Topic(this, 'CarrierEventsTopic', { enforceSSL: true });
    topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('sms-voice.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    new CfnOutput(this, 'CarrierEventsTopicArn', { value: topic.topicArn });
    return topic;
  }

  /**
   * A table; with replica regions, a global table (on-demand billing, streams of new and old
   * images set by the construct, point-in-time recovery and deletion protection on every replica,
   * the AWS-owned key in each region). A replica keeps the table's name.
   */
  private table(def: TableDefinition, tableName: string, replicaRegions: readonly string[] = []): TableV2 {
    return new TableV2(this, def.id, {
      tableName,
      ...(replicaRegions.length ? { replicas: replicaRegions.map((region) => ({ region })) } : {}),
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
        projectionType: ProjectionType[projectionOf(i).type],
        nonKeyAttributes: projectionOf(i).attributes,
      })),
    });
  }

  /**
   * A dead-letter queue like every other: encrypted, TLS only, keeping records longer than its
   * source. SSE-SQS (not a KMS key) lets SNS write to it without a key policy.
   */
  private deadLetterQueue(id: string, def: QueueDefinition, reason: string): Queue {
    const dlq = new Queue(this, id, {
      ...(def.fifo ? { fifo: true } : {}),
      retentionPeriod: Duration.days(def.dlqRetentionDays),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(dlq).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason });
    return dlq;
  }

  private queue(def: QueueDefinition, queueName: string): Queue {
    const dlq = this.deadLetterQueue(
      `${def.id}Dlq`,
      def,
      'This is the dead-letter queue: records end here (kept longer than in the source queue) for an operator to inspect and redrive.',
    );
    return new Queue(this, `${def.id}Queue`, {
      queueName,
      // High-throughput FIFO: the quota applies per message group (tenant), not to the whole
      // queue. A standard FIFO queue takes 300 SendMessage calls a second (SQS quotas), and the
      // audit trail sends one per audited call: it would cap each region at 300 audited calls a
      // second across all tenants. Deduplication per group is enough: entry ids are unique.
      ...(def.fifo
        ? {
            fifo: true,
            deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
            fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
          }
        : {}),
      visibilityTimeout: Duration.seconds(visibilityTimeoutSeconds(def)),
      retentionPeriod: Duration.days(def.retentionDays),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: dlq, maxReceiveCount: def.maxReceiveCount },
    });
  }
}
