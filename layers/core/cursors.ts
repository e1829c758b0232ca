import { ID_PATTERN } from './ids.ts';

/**
 * The page cursors the API hands out, one format per listing: the stores write and read them, and
 * a request is checked against them before any store is asked (so a 422 names a bad cursor
 * together with the other bad parameters). `read` gives undefined for a cursor the API never gave.
 */
export interface CursorFormat<T> {
  write(position: T): string;
  read(cursor: string): T | undefined;
}

const encode = (text: string) => Buffer.from(text).toString('base64url');
const decode = (cursor: string) => Buffer.from(cursor, 'base64url').toString('utf8');

/** A JSON object of one member, base64url-encoded. */
function jsonCursor<T>(member: string, valid: (v: unknown) => v is T): CursorFormat<T> {
  return {
    write: (position) => encode(JSON.stringify({ [member]: position })),
    read(cursor) {
      try {
        const value = (JSON.parse(decode(cursor)) as Record<string, unknown> | null)?.[member];
        return valid(value) ? value : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** An id, base64url-encoded. */
function idCursor(pattern: RegExp): CursorFormat<string> {
  return {
    write: encode,
    read(cursor) {
      const id = decode(cursor);
      return pattern.test(id) ? id : undefined;
    },
  };
}

export const CURSORS = {
  /** GET /v1/messages: the last message id of the page. */
  messages: jsonCursor('id', (v): v is string => typeof v === 'string' && ID_PATTERN.message.test(v)),
  /** Audit trails: the last entry's position in the chain. */
  auditEvents: jsonCursor('seq', (v): v is number => Number.isInteger(v) && (v as number) > 0),
  /** GET /v1/inbound: the last reply's id. */
  inbound: idCursor(/^inb_[0-9A-HJKMNP-TV-Z]{26}$/),
  /** A webhook endpoint's deliveries: the last delivery's id. */
  webhookDeliveries: idCursor(ID_PATTERN.webhookDelivery),
} satisfies Record<string, CursorFormat<unknown>>;
