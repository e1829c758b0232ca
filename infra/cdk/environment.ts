import { Token } from 'aws-cdk-lib';
import type { GatewayMessageBudget } from '../../layers/core/gateway-budget.ts';
import type { GatewayOrigination } from '../../layers/core/origination.ts';
import { type FunctionDeclaration, settingsOf } from '../../layers/declaration.ts';
import { type DeployContext, isOptional, settingSpec } from '../../layers/settings.ts';

/** Traces carry ids and timings only: responses and error details can quote numbers. */
export const POWERTOOLS_ENV = {
  POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
  POWERTOOLS_TRACER_CAPTURE_ERROR: 'false',
} as const;

/** Without `-c gatewayOrigination`: the sender ID `Verify` (refused for carrier=eum, see app.ts). */
export const DEFAULT_ORIGINATION: GatewayOrigination = {
  global: { default: 'Verify' },
  eu: { default: 'Verify' },
};

/**
 * Without `-c gatewayMessageBudget`: the gateway's own messages (one-time codes, block-all
 * confirmations) per region and hour: 1,000 in all and 100 to any one country. The public routes
 * already limit an address to 20 requests a minute and a number to 3 codes an hour, so these bound
 * what many addresses together (SMS pumping) can make the gateway send.
 */
export const DEFAULT_GATEWAY_MESSAGE_BUDGET: GatewayMessageBudget = {
  perHour: 1000,
  perCountryPerHour: { '*': 100 },
};

/**
 * A function's environment: exactly its declared settings that the app has a value for (never a
 * local-only one). A required setting without a value, or a value its schema refuses, stops the
 * synthesis, not the function's first cold start.
 */
export function environmentOf(d: FunctionDeclaration, ctx: DeployContext): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of settingsOf(d, ctx.jurisdiction)) {
    const spec = settingSpec(name);
    if (spec.localOnly || spec.setByStack) continue;
    const value = spec.value?.(ctx);
    if (value === undefined) {
      if (!isOptional(name)) throw new Error(`${d.name} reads ${name}, which the app has no value for`);
      continue;
    }
    if (!Token.isUnresolved(value)) {
      const parsed = spec.schema.safeParse(value);
      if (!parsed.success) {
        throw new Error(
          `Invalid configuration: ${name}: ${parsed.error.issues[0]?.message} (function ${d.name})`,
        );
      }
    }
    env[name] = value;
  }
  return env;
}
