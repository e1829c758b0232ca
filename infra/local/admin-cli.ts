import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { verifyAuditExport } from '../../layers/http/export.ts';
import { regionOfApiUrl, sigV4Headers } from '../signed-admin-call.ts';

const HELP = `Usage: npm run admin -- <command> [options]

Commands:
  tenants create --display-name <name> --legal-name <name> --email <email> [--jurisdiction global|eu]
  tenants list
  tenants show <tenant id>
  tenants policy <tenant id> [--body-days <n>] [--metadata-days <n>] [--residency forward|strict]
  tenants close <tenant id> --confirm <tenant id>   revoke keys, crypto-shred data (cannot be undone);
                  each region's endpoint closes its own jurisdiction: this calls the one of --url,
                  then the other endpoint its answer names, and prints the merged answer
  tenants controls <tenant id> [--countries US,GB] [--rate-per-minute <n>] [--rate-burst <n>]
                  [--monthly-cap <segments>] [--identical-per-hour <n>] [--per-hour <n>]
                  [--deny-phrases 'a,b'] [--allow-shorteners]
  sender-ids pending                              applications awaiting a decision
  sender-ids show --tenant <id> <sender id>       with the identity details, until purged
  sender-ids approve --tenant <id> <sender id>
  sender-ids reject --tenant <id> <sender id> --reason <text>
  carrier token                                   issue the token carriers report replies with
  analytics [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--k <n>]
                  anonymised counts by day, country and status (no tenant; cells under k suppressed);
                  the EU endpoint's count both regions, the global endpoint's the global region only
  audit [--tenant <id>] [--action <operation id>] [--outcome success|failure] [--from <time>]
        [--to <time>] [--limit <n>]           a tenant's audit trail (without --tenant: the operator's own)
  audit verify <file>                             checks the hash chain of an audit export (CSV or
                                                  NDJSON, pages joined in any order); offline
  keys create --tenant <id> --name <name> [--mode live|test] [--scopes send,read,admin]
  keys list --tenant <id>
  keys rotate --tenant <id> --key <key id> [--grace-seconds <n>]
  keys revoke --tenant <id> --key <key id>

Where:
  --url <url>     the gateway (default $SMS_GATEWAY_URL or http://127.0.0.1:3000)
  --token <t>     local admin token (default $SMS_ADMIN_TOKEN or the one in .data/admin-token)
  --aws           sign with your AWS credentials (SigV4) for a deployed gateway, whose admin
                  routes are IAM-authorised; region from $AWS_REGION
`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: process.env.SMS_GATEWAY_URL ?? 'http://127.0.0.1:3000' },
    token: { type: 'string', default: process.env.SMS_ADMIN_TOKEN },
    aws: { type: 'boolean', default: false },
    'display-name': { type: 'string' },
    'legal-name': { type: 'string' },
    email: { type: 'string' },
    jurisdiction: { type: 'string', default: 'global' },
    tenant: { type: 'string' },
    key: { type: 'string' },
    name: { type: 'string' },
    mode: { type: 'string', default: 'live' },
    scopes: { type: 'string', default: 'send,read' },
    'grace-seconds': { type: 'string', default: '0' },
    confirm: { type: 'string' },
    'body-days': { type: 'string' },
    'metadata-days': { type: 'string' },
    residency: { type: 'string' },
    countries: { type: 'string' },
    'rate-per-minute': { type: 'string' },
    'rate-burst': { type: 'string' },
    'monthly-cap': { type: 'string' },
    'identical-per-hour': { type: 'string' },
    'per-hour': { type: 'string' },
    'deny-phrases': { type: 'string' },
    'allow-shorteners': { type: 'boolean' },
    reason: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    k: { type: 'string' },
    action: { type: 'string' },
    outcome: { type: 'string' },
    limit: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

const need = (name: keyof typeof values) => {
  const v = values[name];
  if (typeof v !== 'string' || v === '') fail(`--${name} is required. See npm run admin -- --help`);
  return v;
};

/** `?a=1&b=2` from the options given (renamed where the API's name differs). */
function queryOf(names: (keyof typeof values)[], rename: Record<string, string> = {}): string {
  const q = new URLSearchParams();
  for (const n of names) {
    const v = values[n];
    if (typeof v === 'string' && v !== '') q.set(rename[n] ?? n, v);
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

/** A call to the gateway of --url, or to another region's endpoint (`base`, signed for its own region). */
async function call(method: string, path: string, body?: unknown, base = values.url) {
  const url = new URL(path, base);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  let headers: Record<string, string> = { 'content-type': 'application/json' };
  if (values.aws) {
    const region =
      base === values.url
        ? (process.env.AWS_REGION ?? fail('Set AWS_REGION to the region of the gateway.'))
        : (regionOfApiUrl(base) ??
          fail(
            `Cannot tell the region of ${base}: run the command again with --url ${base} and its AWS_REGION.`,
          ));
    headers = await sigV4Headers(url, region, method, payload);
  } else {
    const token =
      values.token ??
      (existsSync('.data/admin-token') ? readFileSync('.data/admin-token', 'utf8').trim() : undefined) ??
      fail(
        'No admin token: pass --token, set SMS_ADMIN_TOKEN, or run from the folder where npm start keeps .data',
      );
    headers.authorization = `Bearer ${token}`;
  }
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: payload });
  } catch {
    fail(`Cannot reach the gateway at ${base}. Is it running (npm start)?`);
  }
  const text = await res.text();
  if (!res.ok) {
    let detail = text;
    try {
      const p = JSON.parse(text) as {
        title?: string;
        detail?: string;
        message?: string;
        errors?: { detail: string }[];
      };
      detail = [p.title ?? p.message, p.detail, ...(p.errors ?? []).map((e) => `  - ${e.detail}`)]
        .filter(Boolean)
        .join('\n');
    } catch {
      // not JSON: print as is
    }
    fail(`${res.status}: ${detail}`);
  }
  return JSON.parse(text) as unknown;
}

interface ClosedTenant {
  closedAt: string;
  apiKeysRevoked: number;
  tenantItemsRemoved: number;
  jurisdictions: { jurisdiction: string }[];
  closeAlsoAt: { jurisdiction: string; endpoint: string | null }[];
  backups: { what: string; until: string };
  recordsKept: { what: string; until: string };
}

/** One answer for a closure done at each region's endpoint: what each did, the latest dates. */
function mergeClosures(first: ClosedTenant, rest: ClosedTenant[]): ClosedTenant {
  const all = [first, ...rest];
  const done = new Set(all.flatMap((c) => c.jurisdictions.map((j) => j.jurisdiction)));
  const latest = (pick: (c: ClosedTenant) => { what: string; until: string }) =>
    all.map(pick).reduce((a, b) => (b.until > a.until ? b : a));
  return {
    ...first,
    apiKeysRevoked: all.reduce((n, c) => n + c.apiKeysRevoked, 0),
    tenantItemsRemoved: all.reduce((n, c) => n + c.tenantItemsRemoved, 0),
    jurisdictions: all.flatMap((c) => c.jurisdictions),
    closeAlsoAt: first.closeAlsoAt.filter((o) => !done.has(o.jurisdiction)),
    backups: latest((c) => c.backups),
    recordsKept: latest((c) => c.recordsKept),
  };
}

async function main() {
  const [noun, verb, arg] = positionals;
  if (values.help || !noun) {
    process.stdout.write(HELP);
    return;
  }
  let out: unknown;
  switch (verb === undefined ? noun : `${noun} ${verb}`) {
    case 'tenants create':
      out = await call('POST', '/admin/tenants', {
        displayName: need('display-name'),
        legalName: need('legal-name'),
        contactEmail: need('email'),
        homeJurisdiction: values.jurisdiction,
      });
      break;
    case 'tenants list':
      out = await call('GET', '/admin/tenants');
      break;
    case 'tenants show':
      out = await call('GET', `/admin/tenants/${encodeURIComponent(arg ?? fail('Give the tenant id.'))}`);
      break;
    case 'tenants policy': {
      const id = arg ?? fail('Give the tenant id.');
      const days = (name: 'body-days' | 'metadata-days') =>
        values[name] === undefined ? undefined : Number(values[name]);
      out = await call('PUT', `/admin/tenants/${encodeURIComponent(id)}/policy`, {
        retention: { bodyDays: days('body-days'), metadataDays: days('metadata-days') },
        residency: values.residency,
      });
      break;
    }
    case 'tenants close': {
      const id = arg ?? fail('Give the tenant id.');
      const path = `/admin/tenants/${encodeURIComponent(id)}/close`;
      const body = { confirm: need('confirm') };
      const first = (await call('POST', path, body)) as ClosedTenant;
      // Each region's endpoint closes its own jurisdiction: the other half where the answer says.
      const rest: ClosedTenant[] = [];
      for (const other of first.closeAlsoAt) {
        if (other.endpoint) rest.push((await call('POST', path, body, other.endpoint)) as ClosedTenant);
      }
      out = mergeClosures(first, rest);
      const left = (out as ClosedTenant).closeAlsoAt;
      if (left.length > 0) {
        process.stderr.write(
          `Not closed yet in: ${left.map((l) => l.jurisdiction).join(', ')} (no endpoint configured): run this again with --url of that region's endpoint.\n`,
        );
        process.exitCode = 1;
      }
      break;
    }
    case 'tenants controls': {
      const id = arg ?? fail('Give the tenant id.');
      const n = (name: keyof typeof values) =>
        values[name] === undefined ? undefined : Number(values[name]);
      const current = (await call('GET', `/admin/tenants/${encodeURIComponent(id)}`)) as {
        controls?: { rateLimit: object; flood: object };
      };
      const list = (v: string | undefined) =>
        v === undefined
          ? undefined
          : v
              .split(',')
              .map((x) => x.trim())
              .filter(Boolean);
      const rate = { perMinute: n('rate-per-minute'), burst: n('rate-burst') };
      const flood = { identicalPerHour: n('identical-per-hour'), perHour: n('per-hour') };
      out = await call('PUT', `/admin/tenants/${encodeURIComponent(id)}/controls`, {
        allowedCountries: list(values.countries)?.map((c) => c.toUpperCase()),
        monthlySegmentCap: n('monthly-cap'),
        denyPhrases: list(values['deny-phrases']),
        denyUrlShorteners: values['allow-shorteners'] ? false : undefined,
        ...(Object.values(rate).some((v) => v !== undefined)
          ? { rateLimit: { ...current.controls?.rateLimit, ...JSON.parse(JSON.stringify(rate)) } }
          : {}),
        ...(Object.values(flood).some((v) => v !== undefined)
          ? { flood: { ...current.controls?.flood, ...JSON.parse(JSON.stringify(flood)) } }
          : {}),
      });
      break;
    }
    case 'sender-ids pending':
      out = await call('GET', '/admin/sender-ids');
      break;
    case 'sender-ids show':
      out = await call(
        'GET',
        `/admin/tenants/${encodeURIComponent(need('tenant'))}/sender-ids/${encodeURIComponent(arg ?? fail('Give the sender ID id.'))}`,
      );
      break;
    case 'sender-ids approve':
    case 'sender-ids reject':
      out = await call(
        'POST',
        `/admin/tenants/${encodeURIComponent(need('tenant'))}/sender-ids/${encodeURIComponent(arg ?? fail('Give the sender ID id.'))}/decision`,
        verb === 'approve' ? { decision: 'approved' } : { decision: 'rejected', reason: need('reason') },
      );
      break;
    case 'carrier token':
      out = await call('POST', '/admin/carrier-token');
      process.stderr.write(
        'The token below is shown once: only its HMAC is stored. It replaces the previous one.\n',
      );
      break;
    case 'analytics':
      out = await call('GET', `/admin/analytics${queryOf(['from', 'to', 'k'])}`);
      break;
    case 'audit':
      out = await call(
        'GET',
        `/admin/audit-events${queryOf(['tenant', 'action', 'outcome', 'from', 'to', 'limit'], { tenant: 'tenantId' })}`,
      );
      break;
    case 'audit verify': {
      const file = arg ?? fail('Give the export file (CSV or NDJSON).');
      const verification = verifyAuditExport(readFileSync(file, 'utf8'));
      process.stdout.write(`${JSON.stringify(verification, null, 2)}\n`);
      if (!verification.intact) process.exitCode = 1;
      return;
    }
    case 'keys create':
      out = await call('POST', `/admin/tenants/${encodeURIComponent(need('tenant'))}/keys`, {
        name: need('name'),
        mode: values.mode,
        scopes: values.scopes.split(',').map((s) => s.trim()),
      });
      process.stderr.write('The secret below is shown once: only its HMAC is stored.\n');
      break;
    case 'keys list':
      out = await call('GET', `/admin/tenants/${encodeURIComponent(need('tenant'))}/keys`);
      break;
    case 'keys rotate':
      out = await call(
        'POST',
        `/admin/tenants/${encodeURIComponent(need('tenant'))}/keys/${encodeURIComponent(need('key'))}/rotate`,
        {
          graceSeconds: Number(values['grace-seconds']),
        },
      );
      process.stderr.write('The new secret below is shown once: only its HMAC is stored.\n');
      break;
    case 'keys revoke':
      out = await call(
        'DELETE',
        `/admin/tenants/${encodeURIComponent(need('tenant'))}/keys/${encodeURIComponent(need('key'))}`,
      );
      break;
    default:
      fail(`Unknown command '${positionals.join(' ')}'. See npm run admin -- --help`);
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

void main();
