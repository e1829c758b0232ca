import { describe, expect, it, vi } from 'vitest';

describe('metrics (embedded metric format)', () => {
  it('count messages and refusals by reason, with the jurisdiction as the only dimension besides the service', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    vi.stubEnv('JURISDICTION', 'eu');
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const t = await import('../../layers/telemetry.ts');
      t.countMessages('Accepted', 3);
      t.recordLatency('AcceptLatency', 12);
      t.countRefusal('opted_out');
      t.countAuthFailure();
      // A tenant's first use of a jurisdiction looks its key up and finds none: not an error.
      t.countKmsError('NotFoundException', 'DescribeKeyCommand');
      t.countKmsError('AlreadyExistsException', 'CreateAliasCommand');
      t.countKmsError('NotFoundException', 'DecryptCommand');
      t.flushMetrics();
      t.flushMetrics(); // nothing recorded since: nothing written
    } finally {
      spy.mockRestore();
      vi.unstubAllEnvs();
    }
    const emf = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(emf).toHaveLength(2);
    const refused = emf.find((e) => 'MessagesRefused' in e)!;
    expect(refused).toMatchObject({ reason: 'opted_out', jurisdiction: 'eu', MessagesRefused: 1 });
    const batch = emf.find((e) => 'MessagesAccepted' in e)!;
    expect(batch).toMatchObject({
      MessagesAccepted: 3,
      AcceptLatency: 12,
      AuthFailures: 1,
      KmsErrors: 1,
      jurisdiction: 'eu',
    });
    const dimensions = (batch._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] })
      .CloudWatchMetrics[0]!.Dimensions;
    expect(dimensions.flat().sort()).toEqual(['jurisdiction', 'service']);
    expect(JSON.stringify(emf)).not.toContain('ten_');
  });
});
