import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { chainEntries } from '../../layers/core/audit.ts';
import { AUDIT_COLUMNS, exportPage, verifyAuditExport } from '../../layers/http/export.ts';
import { auditEntry } from '../support/fakes.ts';

const run = promisify(execFile);

// Values a spreadsheet would take for formulas (defused in CSV), one already starting with an
// apostrophe, quotes and commas, and an event without a request id.
const { events } = chainEntries(undefined, [
  auditEntry(1, { userAgent: '=HYPERLINK("http://evil.example","x")', requestId: 'req-1' }),
  auditEntry(2, { userAgent: "'=already quoted", ip: '-1' }),
  auditEntry(3, { userAgent: '@SUM(A1), "quoted"', targets: ['+44', 'msg_3'] }),
  auditEntry(4, { userAgent: '\tTabbed' }),
]);
// As the API answers a page: newest first.
const page = { data: [...events].reverse() as unknown as Record<string, unknown>[], nextCursor: null };
const exported = (format: 'csv' | 'ndjson') => exportPage(format, page, AUDIT_COLUMNS).text as string;

describe('verifying an audit export on its own', () => {
  it.each(['csv', 'ndjson'] as const)('verifies an intact %s export', (format) => {
    expect(verifyAuditExport(exported(format))).toEqual({
      intact: true,
      checked: 4,
      firstSeq: 1,
      lastSeq: 4,
    });
  });

  it.each(['csv', 'ndjson'] as const)('finds an edited event in a %s export', (format) => {
    const edited = exported(format).replace('203.0.113.7', '198.51.100.1');
    expect(verifyAuditExport(edited)).toMatchObject({ intact: false, broken: { reason: 'hash_mismatch' } });
  });

  it('keeps a CSV export defused for spreadsheets', () => {
    expect(exported('csv')).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
    expect(exported('csv')).not.toMatch(/,[=+\-@\t]/);
  });

  it('verifies pages of an export joined together (a header line per page)', () => {
    const [newer, older] = [page.data.slice(0, 2), page.data.slice(2)];
    const joined =
      (exportPage('csv', { data: newer }, AUDIT_COLUMNS).text as string) +
      (exportPage('csv', { data: older }, AUDIT_COLUMNS).text as string);
    expect(verifyAuditExport(joined)).toMatchObject({ intact: true, checked: 4 });
  });

  it('is offered offline by the admin CLI (npm run admin -- audit verify FILE)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-export-'));
    const cli = (file: string) =>
      run(process.execPath, ['--import', 'tsx', 'infra/local/admin-cli.ts', 'audit', 'verify', file], {
        // No gateway at this address: verification reads only the file.
        env: { ...process.env, SMS_GATEWAY_URL: 'http://127.0.0.1:9' },
      });
    for (const format of ['csv', 'ndjson'] as const) {
      const file = join(dir, `trail.${format}`);
      writeFileSync(file, exported(format));
      const out = JSON.parse((await cli(file)).stdout) as { intact: boolean; checked: number };
      expect(out).toMatchObject({ intact: true, checked: 4 });
    }
    const tampered = join(dir, 'tampered.csv');
    writeFileSync(tampered, exported('csv').replace('203.0.113.7', '198.51.100.1'));
    const refused = await cli(tampered).then(
      () => undefined,
      (e: { code: number; stdout: string }) => e,
    );
    expect(refused?.code).toBe(1);
    expect(JSON.parse(refused!.stdout)).toMatchObject({ intact: false });
  });
});
