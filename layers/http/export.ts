import { type AuditEvent, type ChainVerification, verifyChain } from '../core/audit.ts';
import type { HttpResult } from './handler.ts';

export type ExportFormat = 'json' | 'csv' | 'ndjson';

/**
 * Text a spreadsheet would take for a formula: a leading = + - @ tab or CR, also after
 * apostrophes. Such a cell gets one more leading apostrophe, so spreadsheets show it as text and
 * a reader gets the value back exactly by taking one off (`'=x` is written `''=x`).
 */
const FORMULA_LIKE = /^'*[=+\-@\t\r]/;

/** A CSV cell: quoted when needed; formula-like text is defused (reversibly, see above). */
function cell(value: unknown): string {
  let text =
    value === undefined || value === null
      ? ''
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  if (FORMULA_LIKE.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A cell's value as written, its defusing undone. */
const undefused = (text: string) =>
  /^'/.test(text) && FORMULA_LIKE.test(text.slice(1)) ? text.slice(1) : text;

/** Rows of an RFC 4180 CSV text (quoted cells may hold commas, quotes and line breaks). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let value = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (quoted) {
      if (c !== '"') value += c;
      else if (text[i + 1] === '"') {
        value += '"';
        i++;
      } else quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(undefused(value));
      value = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(undefused(value));
      rows.push(row);
      row = [];
      value = '';
    } else value += c;
  }
  if (value !== '' || row.length > 0) rows.push([...row, undefused(value)]);
  return rows;
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

/** Audit columns that are not text: numbers, and JSON (objects and lists). */
const AUDIT_NUMBERS = new Set(['seq', 'status']);
const AUDIT_JSON = new Set(['actor', 'targets']);

/** The events of an audit export, NDJSON or CSV (pages joined in any order), ascending by seq. */
export function auditEventsFromExport(text: string): AuditEvent[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  let events: AuditEvent[];
  if (trimmed.startsWith('{')) {
    events = trimmed
      .split(/\r?\n/)
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as AuditEvent);
  } else {
    const [header, ...rows] = parseCsv(trimmed);
    const columns = header ?? [];
    events = rows
      .filter((r) => r.join(',') !== columns.join(','))
      .map((r) => {
        const event: Record<string, unknown> = {};
        columns.forEach((column, i) => {
          const value = r[i] ?? '';
          if (value === '' && column === 'requestId') return; // absent, as the hash saw it
          event[column] = AUDIT_NUMBERS.has(column)
            ? Number(value)
            : AUDIT_JSON.has(column)
              ? JSON.parse(value)
              : value;
        });
        return event as unknown as AuditEvent;
      });
  }
  return events.sort((a, b) => a.seq - b.seq);
}

/**
 * Verifies an export on its own, as anyone holding one can (README: "Audit trail"). Only the
 * chain within the export is checked: whether it reaches the trail's head is for the API's
 * verification to say.
 */
export function verifyAuditExport(text: string): ChainVerification {
  return verifyChain(auditEventsFromExport(text));
}
