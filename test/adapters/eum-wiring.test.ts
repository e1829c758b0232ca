import { PinpointSMSVoiceV2Client, SendTextMessageCommand } from '@aws-sdk/client-pinpoint-sms-voice-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';

const saved = { ...process.env };
afterAll(() => {
  // The worker may run another file next: leave its environment as it was.
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

describe('choosing the carrier by configuration', () => {
  it('sends through End User Messaging when CARRIER=eum, loading its client on the first send', async () => {
    const eum = mockClient(PinpointSMSVoiceV2Client);
    eum.on(SendTextMessageCommand).resolves({ MessageId: 'eum-9' });
    Object.assign(process.env, {
      CARRIER: 'eum',
      EUM_CONFIGURATION_SET: 'sms-gateway-global',
      EUM_TTL_SECONDS: '600',
      GLOBAL_REGION: 'us-east-1',
    });
    const { carrier } = await import('../../functions/messages/wiring.ts');
    const out = await carrier('global').send({
      messageId: 'msg_1',
      tenantId: 'ten_1',
      to: '+12025550100',
      from: '+12025550199',
      body: 'Hello',
      category: 'transactional',
    });
    expect(out).toEqual({ carrierMessageId: 'eum-9' });
    expect(eum.commandCalls(SendTextMessageCommand)[0]!.args[0].input).toMatchObject({
      ConfigurationSetName: 'sms-gateway-global',
      TimeToLive: 600,
      OriginationIdentity: '+12025550199',
    });
  });
});
