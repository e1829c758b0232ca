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
