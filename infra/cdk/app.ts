import { App } from 'aws-cdk-lib';
import { StatefulStack } from './stateful-stack.ts';
import { StatelessStack } from './stateless-stack.ts';

/** Builds the gateway's stacks for one jurisdiction; the EU one is added by the residency work. */
export function buildApp(app = new App()) {
  // Keep the producer-protecting behaviour explicitly (CDK warns while it is a default).
  if (app.node.tryGetContext('@aws-cdk/core:defaultCrossStackReferences') === undefined) {
    app.node.setContext('@aws-cdk/core:defaultCrossStackReferences', 'strong');
  }
  const region = app.node.tryGetContext('region') ?? process.env.CDK_DEFAULT_REGION;
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const env = region ? { region, account } : undefined;
  const stateful = new StatefulStack(app, 'SmsGateway-Global-Stateful', { env });
  const stateless = new StatelessStack(app, 'SmsGateway-Global-Stateless', {
    env,
    stateful,
    jurisdiction: 'global',
    messageRetentionDays: Number(app.node.tryGetContext('messageRetentionDays') ?? 90),
  });
  return { app, stateful, stateless };
}

if (process.argv[1]?.endsWith('app.ts')) buildApp().app.synth();
