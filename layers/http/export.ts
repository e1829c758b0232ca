import type { HttpResult } from './handler.ts';

export type ExportFormat = 'json' | 'csv' | 'ndjson';

/** A CSV cell: quoted when needed; a leading = + - @ is defused so spreadsheets show it as text. */
function cell(value: unknown): string {
  let text =
    value === undefined || value === null
      ? ''
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(columns: string[], rows: Record<string, unknown>[]): string {
  const lines = [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * Answers a page of records as JSON (the page object), CSV (the columns named, a header line;
 * the next cursor in a `Link`-style header) or NDJSON (one record per line).
 */
export function exportPage(
  format: ExportFormat,
  page: { data: Record<string, unknown>[]; nextCursor?: string | null | undefined },
  columns: string[],
  whole: object = page,
): HttpResult {
  if (format === 'json') return { status: 200, body: whole };
  const headers: Record<string, string> = page.nextCursor ? { 'x-next-cursor': page.nextCursor } : {};
  return format === 'csv'
    ? {
        status: 200,
        text: toCsv(columns, page.data),
        headers: { ...headers, 'content-type': 'text/csv; charset=utf-8' },
      }
    : {
        status: 200,
        text: page.data.map((r) => `${JSON.stringify(r)}\n`).join(''),
        headers: { ...headers, 'content-type': 'application/x-ndjson' },
      };
}

/** Columns of the audit trail's CSV export, in order. */
export const AUDIT_COLUMNS = [
  'seq',
  'id',
  'tenantId',
  'at',
  'actor',
  'action',
  'route',
  'targets',
  'ip',
  'userAgent',
  'outcome',
  'status',
  'requestId',
  'jurisdiction',
  'prevHash',
  'hash',
];
