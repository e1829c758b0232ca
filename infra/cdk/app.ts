import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { Jurisdiction } from '../../layers/core/model.ts';
import { DEFAULT_EU_REGION } from '../resources.ts';
import { StatefulStack } from './stateful-stack.ts';
import { StatelessStack } from './stateless-stack.ts';

/**
 * Builds the gateway: one stateful and one stateless stack per jurisdiction, each in its own
 * region. Context: `region` (global, default CDK_DEFAULT_REGION or us-east-1), `euRegion`
 * (default eu-central-1), and optionally `globalApiUrl` / `euApiUrl` (custom domains, named in
 * 421 answers).
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
          maxPrice: app.node.tryGetContext('eumMaxPrice') as string | undefined,
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
  const build = (jurisdiction: Jurisdiction, label: string) => {
    const env = { region: regions[jurisdiction], account };
    const stateful = new StatefulStack(app, `SmsGateway-${label}-Stateful`, {
      env,
      jurisdiction,
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
    });
    return { stateful, stateless };
  };
  const global = build('global', 'Global');
  const eu = build('eu', 'EU');
  return { app, regions, stateful: global.stateful, stateless: global.stateless, global, eu };
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
