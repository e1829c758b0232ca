import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { CarrierEvent } from '#functions/messages/use-cases/dispatch-message.ts';
import { CarrierRejectedError, CarrierThrottledError, CarrierUnavailableError } from '../core/errors.ts';
import type { Jurisdiction } from '../core/model.ts';
import { type SandboxBehaviour, sandboxBehaviour, sandboxReply } from '../core/sandbox.ts';
import type { Carrier, CarrierSendOptions, CarrierSendRequest } from '../ports/index.ts';
import { present } from '../present.ts';
import { batchGet } from './dynamodb-util.ts';

/** What a handset got: the ledger's record of a message the sandbox took. */
export interface SandboxLedgerEntry {
  messageId: string;
  tenantId: string;
  to: string;
  body: string;
  /** When the sandbox first took it. */
  acceptedAt: string;
}

type Receipt = { status: CarrierEvent['status']; code?: string | undefined; delaySeconds: number };

/** The receipt the sandbox reports for a message it takes; none for one it never takes. */
function receiptFor(behaviour: SandboxBehaviour): Receipt | undefined {
  if (behaviour.outcome === 'receipt') return behaviour;
  if (behaviour.outcome === 'slow_send' || (behaviour.outcome === 'timeout' && behaviour.taken))
    return { status: 'delivered', delaySeconds: 0 };
  return undefined;
}

/** SQS's longest delivery delay (15 minutes). */
const MAX_DELAY_SECONDS = 900;

/**
 * The sandbox's "handsets": what the carrier accepted, one item per message id. A repeated
 * send with the same id is counted (`sends`) but delivered once, like a carrier honouring an
 * idempotency key. Local runs only: it keeps numbers and bodies in clear.
 */
export class DynamoDbSandboxLedger {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async record(req: CarrierSendRequest, at: Date): Promise<{ sends: number }> {
    const out = await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: marshall({ pk: `SANDBOX#${req.messageId}`, sk: 'SEND' }),
        UpdateExpression:
          'ADD sends :one SET tenantId = if_not_exists(tenantId, :t), #to = if_not_exists(#to, :to), #from = if_not_exists(#from, :from), body = if_not_exists(body, :body), acceptedAt = if_not_exists(acceptedAt, :at)',
        ExpressionAttributeNames: { '#to': 'to', '#from': 'from' },
        ExpressionAttributeValues: marshall({
          ':one': 1,
          ':t': req.tenantId,
          ':to': req.to,
          ':from': req.from,
          ':body': req.body,
          ':at': at.toISOString(),
        }),
        ReturnValues: 'ALL_NEW',
      }),
    );
    const recorded = present(out.Attributes, "DynamoDB UpdateItem's Attributes (ALL_NEW)");
    return { sends: unmarshall(recorded).sends as number };
  }

  /**
   * Counts one send from `from` in the calendar second of `at`; false when that second already
   * had `mps` (the count is shared by every instance, as a carrier's is). Local runs only.
   */
  async admit(from: string, at: Date, mps: number): Promise<boolean> {
    const second = Math.floor(at.getTime() / 1000);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: `SANDBOX_RATE#${from}`, sk: String(second) }),
          UpdateExpression: 'ADD sends :one',
          ConditionExpression: 'attribute_not_exists(sends) OR sends < :mps',
          ExpressionAttributeValues: marshall({ ':one': 1, ':mps': mps }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** The entries of the messages among these the sandbox took. */
  async find(messageIds: string[]): Promise<SandboxLedgerEntry[]> {
    const items = await batchGet(
      this.client,
      this.table,
      messageIds.map((id) => marshall({ pk: `SANDBOX#${id}`, sk: 'SEND' })),
    );
    return items.map((i) => {
      const e = unmarshall(i);
      return {
        messageId: String(e.pk).slice('SANDBOX#'.length),
        tenantId: e.tenantId as string,
        to: e.to as string,
        body: e.body as string,
        acceptedAt: e.acceptedAt as string,
      };
    });
  }
}

/**
 * A carrier for development and tests. It answers by magic number (see core/sandbox.ts) and
 * reports delivery receipts on the carrier events queue, the same path a real carrier's
 * events take, so receipts exercise the real events handler.
 */
export class SandboxCarrier implements Carrier {
  constructor(
    private readonly deps: {
      sqs: SQSClient;
      eventsQueueUrl: string;
      jurisdiction: Jurisdiction;
      ledger?: DynamoDbSandboxLedger | undefined;
      sleep?: (ms: number) => Promise<void>;
      /**
       * Messages a second an origination identity may send (counted in the ledger, so across
       * instances); past it the sandbox throttles, as End User Messaging does. None: never.
       */
      mps?: number | undefined;
    },
  ) {}

  async send(req: CarrierSendRequest, options?: CarrierSendOptions): Promise<{ carrierMessageId: string }> {
    const { ledger, mps } = this.deps;
    if (ledger && mps !== undefined && !(await ledger.admit(req.from, new Date(), mps))) {
      throw new CarrierThrottledError(`Sandbox carrier: ${req.from} is past ${mps} messages a second`);
    }
    const behaviour = sandboxBehaviour(req.to, req.body);
    const receipt = receiptFor(behaviour);
    if (behaviour.outcome === 'timeout') {
      // Taken (a receipt comes) though the caller hears nothing.
      if (receipt) await this.take(req, receipt);
      // No answer: the caller gives up (aborts), or a minute passes.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 60_000);
        options?.signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      throw new CarrierUnavailableError('Sandbox carrier: no answer');
    }
    if (behaviour.outcome === 'unavailable')
      throw new CarrierUnavailableError('Sandbox carrier: 503 Service Unavailable');
    if (behaviour.outcome === 'rejected') {
      throw new CarrierRejectedError(
        behaviour.code,
        behaviour.code === 'message_refused'
          ? 'Sandbox carrier refused the message.'
          : 'Sandbox carrier refused the destination.',
      );
    }
    if (behaviour.outcome === 'slow_send') {
      await (this.deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(behaviour.sendMs);
    }
    // A receipt or a slow send: the sandbox takes it.
    return this.take(req, present(receipt, `the receipt of a ${behaviour.outcome} message`));
  }

  /**
   * Reports again the receipts of messages the sandbox took (those its ledger holds), each as it
   * was first reported: same status and time, delayed by what is left of its delay. For a
   * restart of the local runtime, whose in-memory SQS lost the receipts not yet applied; a
   * receipt applied twice changes nothing. Returns how many it reported.
   */
  async reportAgain(messageIds: string[], now = new Date()): Promise<number> {
    const entries = messageIds.length > 0 ? ((await this.deps.ledger?.find(messageIds)) ?? []) : [];
    let reported = 0;
    for (const e of entries) {
      const receipt = receiptFor(sandboxBehaviour(e.to, e.body));
      if (!receipt) continue;
      await this.report(e, receipt, new Date(e.acceptedAt), now);
      reported++;
    }
    return reported;
  }

  private async report(
    message: { messageId: string; tenantId: string },
    receipt: Receipt,
    acceptedAt: Date,
    now: Date,
  ): Promise<string> {
    const carrierMessageId = `sbx_${message.messageId}`;
    const occurredAt = acceptedAt.getTime() + receipt.delaySeconds * 1000;
    const event: CarrierEvent = {
      kind: 'delivery_receipt',
      tenantId: message.tenantId,
      messageId: message.messageId,
      jurisdiction: this.deps.jurisdiction,
      carrierMessageId,
      status: receipt.status,
      errorCode: receipt.code,
      occurredAt: new Date(occurredAt).toISOString(),
    };
    await this.deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.deps.eventsQueueUrl,
        MessageBody: JSON.stringify(event),
        DelaySeconds: Math.min(
          MAX_DELAY_SECONDS,
          Math.max(0, Math.ceil((occurredAt - now.getTime()) / 1000)),
        ),
      }),
    );
    return carrierMessageId;
  }

  /** Takes a message: the ledger counts the hand-over, its receipt (and any reply) goes on the events queue. */
  private async take(req: CarrierSendRequest, receipt: Receipt): Promise<{ carrierMessageId: string }> {
    const now = new Date();
    await this.deps.ledger?.record(req, now);
    const carrierMessageId = await this.report(req, receipt, now, now);
    // The handset answers this message (a test-mode one too, which no index holds): the queue
    // carries only its ids, and the worker reads the words from the message stored sealed. The
    // gateway's own messages (one-time codes) are never answered.
    if (req.messageId.startsWith('msg_') && sandboxReply(req.to, req.body) !== undefined) {
      await this.deps.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.deps.eventsQueueUrl,
          MessageBody: JSON.stringify({
            kind: 'sandbox_reply',
            tenantId: req.tenantId,
            messageId: req.messageId,
            carrierMessageId: `sbx_in_${req.messageId}`,
            receivedAt: new Date(now.getTime() + 1).toISOString(),
          }),
          DelaySeconds: 1,
        }),
      );
    }
    return { carrierMessageId };
  }
}
