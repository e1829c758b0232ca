import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { GatewayMessageBudget } from '../../layers/core/gateway-budget.ts';
import type { Jurisdiction } from '../../layers/core/model.ts';
import {
  GatewayOrigination,
  isSenderId,
  NO_SENDER_ID_COUNTRIES,
  OriginationMap,
} from '../../layers/core/origination.ts';
import { SendRates } from '../../layers/core/pacing.ts';
import { EUM_MAX_PRICE_PATTERN, EUM_TTL_RANGE } from '../../layers/settings.ts';
import { DEFAULT_EU_REGION } from '../resources.ts';
import { DEFAULT_GATEWAY_MESSAGE_BUDGET, DEFAULT_ORIGINATION } from './environment.ts';
import { StatefulStack } from './stateful-stack.ts';
import { StatelessStack } from './stateless-stack.ts';

/**
 * Builds the gateway: one stateful and one stateless stack per jurisdiction, each in its own
 * region. Context: `region` (global, default CDK_DEFAULT_REGION or us-east-1), `euRegion`
 * (default eu-central-1), and optionally `globalApiUrl` / `euApiUrl` (custom domains, named in
 * 421 answers), `gatewayOrigination`, `eumMaxPrice`, `eumTtlSeconds`, `dispatchMaxConcurrency`,
 * `authorizerReservedConcurrency`, `smsPricesUsd`, `gatewayMessageBudget` and `sendRates` (see the README's
 * deploy section).
 */
export function buildApp(app = new App()) {
  // Keep the producer-protecting behaviour explicitly (CDK warns while it is a default).
  if (app.node.tryGetContext('@aws-cdk/core:defaultCrossStackReferences') === undefined) {
    app.node.setContext('@aws-cdk/core:defaultCrossStackReferences', 'strong');
  }
  const regions: Record<Jurisdiction, string> = {
    global: app.node.tryGetContext('region') ?? process.env.CDK_DEFAULT_REGION ?? 'us-east-1',
    eu: app.node.tryGetContext('euRegion') ?? DEFAULT_EU_REGION,
  };
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const apiUrls = {
    ...(app.node.tryGetContext('globalApiUrl')
      ? { global: String(app.node.tryGetContext('globalApiUrl')) }
      : {}),
    ...(app.node.tryGetContext('euApiUrl') ? { eu: String(app.node.tryGetContext('euApiUrl')) } : {}),
  };
  // `-c carrier=eum -c eumConfigurationSet=<name>` sends live traffic through AWS End User
  // Messaging SMS; the default sandbox never reaches a handset.
  const carrier =
    app.node.tryGetContext('carrier') === 'eum'
      ? {
          kind: 'eum' as const,
          configurationSet: String(
            app.node.tryGetContext('eumConfigurationSet') ??
              (() => {
                throw new Error('carrier=eum needs -c eumConfigurationSet=<configuration set name>');
              })(),
          ),
          maxPrice: eumMaxPrice(app.node.tryGetContext('eumMaxPrice')),
          ttlSeconds: eumTtlSeconds(app.node.tryGetContext('eumTtlSeconds')),
        }
      : { kind: 'sandbox' as const };
  // After a `cdk destroy` (README: "Lifecycle"): take over the retained tables and system key.
  const adopt =
    String(app.node.tryGetContext('adoptRetained') ?? 'false') === 'true'
      ? { systemKeyArn: app.node.tryGetContext('systemKeyArn') as string | undefined }
      : undefined;
  if (adopt && !adopt.systemKeyArn) {
    throw new Error(
      'adoptRetained=true needs -c systemKeyArn=<ARN of the retained key aliased alias/sms-gateway/system>: a new key could not unwrap the stored API key pepper',
    );
  }
  const origination = gatewayOrigination(app.node.tryGetContext('gatewayOrigination'));
  // One-time codes to the US and Canada must come from a number: their carriers take no sender ID.
  if (carrier.kind === 'eum') {
    for (const country of NO_SENDER_ID_COUNTRIES) {
      const identity = origination.global[country] ?? origination.global.default;
      if (isSenderId(identity)) {
        throw new Error(
          `carrier=eum: gatewayOrigination sends ${country} codes from the sender ID "${identity}", which ${country} does not support; map "${country}" to a phone number (e.g. -c gatewayOrigination='{"default":"Verify","US":"+1...","CA":"+1..."}')`,
        );
      }
    }
  }
  const smsPricesUsd = app.node.tryGetContext('smsPricesUsd') as string | undefined;
  const messageBudget = gatewayMessageBudget(app.node.tryGetContext('gatewayMessageBudget'));
  const rates = sendRates(app.node.tryGetContext('sendRates'));
  // Forward residency relays a tenant's EU requests from the global endpoint to the EU API, so the
  // global stack must know that API's URL. It is a context value rather than a cross-region
  // reference (`crossRegionReferences`, experimental, adds a custom resource and SSM parameters
  // to both stacks): deploy the EU stacks first and pass their `ApiUrl` output, or the EU custom domain.
  if (!apiUrls.eu) {
    throw new Error(
      'Forward residency relays EU/EEA requests from the global endpoint to the EU API: pass -c euApiUrl=<its URL> (your EU custom domain, or the SmsGateway-EU-Stateless ApiUrl output: deploy the EU stacks first with `cdk deploy "SmsGateway-EU-*" -c euApiUrl=https://pending.invalid`, then all stacks with the real URL)',
    );
  }
  const build = (jurisdiction: Jurisdiction, label: string) => {
    const env = { region: regions[jurisdiction], account };
    const stateful = new StatefulStack(app, `SmsGateway-${label}-Stateful`, {
      env,
      jurisdiction,
      ...(jurisdiction === 'global' ? { tenantsReplicaRegions: [regions.eu] } : {}),
      eumEvents: carrier.kind === 'eum',
      ...(adopt ? { adopt } : {}),
    });
    const stateless = new StatelessStack(app, `SmsGateway-${label}-Stateless`, {
      env,
      stateful,
      jurisdiction,
      regions,
      apiUrls,
      carrier,
      origination,
      gatewayMessageBudget: messageBudget,
      sendRates: rates,
      smsPricesUsd:
        typeof smsPricesUsd === 'string' || smsPricesUsd === undefined
          ? smsPricesUsd
          : JSON.stringify(smsPricesUsd),
    });
    return { stateful, stateless };
  };
  const global = build('global', 'Global');
  const eu = build('eu', 'EU');
  // The EU functions use the tenants table's EU replica, which the global stateful stack makes.
  eu.stateless.addStackDependency(global.stateful, "the tenants table's EU replica");
  return { app, regions, stateful: global.stateful, stateless: global.stateless, global, eu };
}

/** `-c eumMaxPrice`: the pattern SendTextMessage accepts (`[0-9]{0,2}\.[0-9]{1,5}`), e.g. `0.05`. */
function eumMaxPrice(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  const value = String(raw);
  if (!EUM_MAX_PRICE_PATTERN.test(value)) {
    throw new Error(
      `eumMaxPrice "${value}" must match [0-9]{0,2}.[0-9]{1,5} (USD per message part, e.g. 0.05)`,
    );
  }
  return value;
}

/** `-c eumTtlSeconds`: SendTextMessage's TimeToLive, 5 to 259,200 seconds. */
function eumTtlSeconds(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < EUM_TTL_RANGE.min || value > EUM_TTL_RANGE.max) {
    throw new Error(
      `eumTtlSeconds must be a whole number of seconds from ${EUM_TTL_RANGE.min} to ${EUM_TTL_RANGE.max}`,
    );
  }
  return value;
}

/** A context value given as JSON text (`-c name='{...}'`) or as an object (cdk.json). */
function contextJson(raw: unknown, name: string): unknown {
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw);
  } catch {
    throw new Error(`${name} must be JSON`);
  }
}

/**
 * `-c gatewayOrigination`: one map for both jurisdictions (`{"default":"Verify","US":"+1..."}`)
 * or one per jurisdiction (`{"global":{...},"eu":{...}}`); JSON text or an object (cdk.json).
 */
function gatewayOrigination(raw: unknown) {
  if (raw === undefined) return DEFAULT_ORIGINATION;
  const value = contextJson(raw, 'gatewayOrigination');
  const perJurisdiction = GatewayOrigination.safeParse(value);
  if (perJurisdiction.success) return perJurisdiction.data;
  const shared = OriginationMap.safeParse(value);
  if (shared.success) return { global: shared.data, eu: shared.data };
  throw new Error(
    `gatewayOrigination: ${shared.error.issues.map((i) => `${i.path.join('.') || '(map)'}: ${i.message}`).join('; ')}`,
  );
}

/** `-c gatewayMessageBudget`: `{"perHour":1000,"perCountryPerHour":{"*":100,"US":300}}`; JSON text or an object. */
function gatewayMessageBudget(raw: unknown): GatewayMessageBudget {
  if (raw === undefined) return DEFAULT_GATEWAY_MESSAGE_BUDGET;
  const parsed = GatewayMessageBudget.safeParse(contextJson(raw, 'gatewayMessageBudget'));
  if (parsed.success) return parsed.data;
  throw new Error(
    `gatewayMessageBudget: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(budget)'}: ${i.message}`).join('; ')}`,
  );
}

/**
 * `-c sendRates`: message parts per second, `{"account":20,"default":1,"+18005550100":3}`
 * (the account in each region, an identity not named, named identities); JSON text or an object.
 */
function sendRates(raw: unknown): SendRates | undefined {
  if (raw === undefined) return undefined;
  const parsed = SendRates.safeParse(contextJson(raw, 'sendRates'));
  if (parsed.success) return parsed.data;
  throw new Error(
    `sendRates: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(rates)'}: ${i.message}`).join('; ')}`,
  );
}

/** The AWS Solutions and Serverless rule packs; synthesis fails on any unacknowledged finding. */
export function checkWithNag(app: App) {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
}

if (process.argv[1]?.endsWith('app.ts')) {
  const { app } = buildApp();
  checkWithNag(app);
  app.synth();
}
