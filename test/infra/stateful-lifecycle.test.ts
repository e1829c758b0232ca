import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/cdk/app.ts';
import { StatefulStack } from '../../infra/cdk/stateful-stack.ts';

const env = { region: 'us-east-1', account: '111122223333' };
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** Only the stateful stack: no function bundling, so these tests take milliseconds. */
function statefulTemplate(props: Partial<ConstructorParameters<typeof StatefulStack>[2]> = {}) {
  const app = new App();
  const stack = new StatefulStack(app, 'Stateful', { env, jurisdiction: 'global', ...props });
  return { stack, template: Template.fromStack(stack) };
}

describe('audit queue throughput (defect 11)', () => {
  it('is a high-throughput FIFO queue: the quota applies per tenant (message group), not to the whole queue', () => {
    const { template } = statefulTemplate();
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'sms-gateway-global-audit.fifo',
      FifoQueue: true,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
    });
  });
});

describe('lifecycle: destroy, then deploy again (defect 14)', () => {
  it('protects the stateful stacks from deletion', () => {
    const { stack } = statefulTemplate();
    expect(stack.terminationProtection).toBe(true);
  });

  it('retains the system key and its alias, so a later deployment can find the key that wraps the pepper', () => {
    const { template } = statefulTemplate();
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
    template.hasResource('AWS::KMS::Alias', {
      DeletionPolicy: 'Retain',
      Properties: { AliasName: 'alias/sms-gateway/system' },
    });
  });

  it('takes over the retained tables and key instead of creating new ones when adopting', () => {
    const { template, stack } = statefulTemplate({ adopt: { systemKeyArn: KEY_ARN } });
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.resourceCountIs('AWS::KMS::Alias', 0);
    expect(stack.systemKey?.keyArn).toBe(KEY_ARN);
    expect(stack.resolve(stack.tenants?.tableName)).toBe('sms-gateway-tenants');
    // Queues hold nothing that must survive: they are created anew.
    template.resourcePropertiesCountIs('AWS::SQS::Queue', { QueueName: 'sms-gateway-global-dispatch' }, 1);
  });

  it('refuses to adopt without the retained key: a new key could not unwrap the stored pepper', () => {
    const app = new App({ context: { adoptRetained: 'true' } });
    expect(() => buildApp(app)).toThrow(/systemKeyArn/);
  });
});
