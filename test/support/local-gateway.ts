import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { type GatewayOptions, type RunningGateway, startGateway } from '../../infra/local/gateway.ts';
import { localClients, uniqueName } from './aws.ts';

/** Nothing served from a cache: each request reads what the tables hold at that moment. */
export const NO_CACHES = { authorizerCacheSeconds: 0, settingsCacheSeconds: 0 } as const;

/**
 * The whole gateway from its synthesized templates, on the run's local DynamoDB, SQS and KMS,
 * under a prefix of its own (`name` plus a random tail), on a free port; `options` adds to that.
 */
export function startTestGateway(
  name: string,
  options: Omit<Partial<GatewayOptions>, 'port' | 'prefix'> = {},
): Promise<RunningGateway> {
  return startGateway({
    port: 0,
    services: { kind: 'external', ...localClients().services },
    prefix: uniqueName(name),
    ...options,
  });
}

/** Whatever waits on every queue and DLQ of both regions, read raw once, taking nothing. */
export async function everyQueue(gateway: RunningGateway) {
  const bodies: string[] = [];
  for (const j of ['global', 'eu'] as const) {
    const { sqs } = localClients(gateway.regions[j]);
    for (const url of Object.values(gateway.queues.byJurisdiction[j])) {
      const out = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
      );
      bodies.push(...(out.Messages ?? []).map((m) => m.Body ?? ''));
    }
  }
  return bodies;
}

/**
 * Every message a queue worker of either region takes (its SQS record's body, raw), from now
 * until `stop`: what the queues carried, however fast it was taken.
 */
export function recordQueuedMessages(gateway: RunningGateway) {
  const bodies: string[] = [];
  const fns = [...gateway.functions.values()].map(({ fn }) => fn);
  for (const fn of fns) {
    const invoke = fn.invoke.bind(fn);
    fn.invoke = ((event: unknown, options?: { requestId?: string }) => {
      const records = (event as { Records?: { body?: string }[] }).Records;
      if (Array.isArray(records)) bodies.push(...records.map((r) => r.body ?? ''));
      return invoke(event, options);
    }) as typeof fn.invoke;
  }
  return {
    bodies,
    stop: () => {
      for (const fn of fns) Reflect.deleteProperty(fn, 'invoke');
    },
  };
}
