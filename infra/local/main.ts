// Lambda runs Node 22; the SDK's notice about Node 20 is noise in local runs.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const startedAt = performance.now();

import { parseArgs } from 'node:util';
import { adminCall } from './admin-call.ts';
import { startGateway } from './gateway.ts';
import { PortInUseError } from './services.ts';

const HELP = `Usage: npm start -- [options]

Starts the whole SMS gateway on this machine: DynamoDB Local, the local SQS, the KMS
stand-in, the sandbox carrier, the HTTP API and the workers.

  --port <n>              global region's HTTP API port (default 3000, env PORT)
  --eu-port <n>           EU region's HTTP API port (default: --port + 1)
  --dynamodb-port <n>     DynamoDB Local port (default 8000)
  --sqs-port <n>          local SQS port (default 9324)
  --kms-port <n>          KMS stand-in port (default 4599)
  --data-dir <dir>        where data persists across restarts (default .data)
  --in-memory             keep nothing: a throwaway run
  --no-demo               do not create the demo tenant on first start
  --external <urls>       use running services: dynamodb=URL,sqs=URL,kms=URL
  --prefix <name>         prefix of table and queue names (default: none, the templates' names)
  --assembly <dir>        run this cloud assembly (cdk.out) instead of synthesizing the CDK app
  --allow-loopback-webhooks
                          let webhooks reach receivers on this machine (http://127.0.0.1:...);
                          nothing else private, and never in AWS
  --visibility-timeout <s>
                          dispatch and carrier events queues' visibility timeout (the lease);
                          their workers' timeouts come down to it, as Lambda requires
  --max-receive-count <n> receives before a dispatch record goes to its DLQ
  --authorizer-cache-seconds <s>
                          how long an API key's authorizer answer is cached (default 60)
  --ready-json            print one JSON line when ready (for scripts and tests)
  -h, --help              this help
`;

function parseFlags() {
  try {
    return parseArgs({
      options: {
        port: { type: 'string', default: process.env.PORT ?? '3000' },
        'eu-port': { type: 'string' },
        'dynamodb-port': { type: 'string', default: '8000' },
        'sqs-port': { type: 'string', default: '9324' },
        'kms-port': { type: 'string', default: '4599' },
        'data-dir': { type: 'string', default: '.data' },
        'in-memory': { type: 'boolean', default: false },
        'no-demo': { type: 'boolean', default: false },
        external: { type: 'string' },
        prefix: { type: 'string' },
        assembly: { type: 'string' },
        'ready-json': { type: 'boolean', default: false },
        'visibility-timeout': { type: 'string' },
        'max-receive-count': { type: 'string' },
        'authorizer-cache-seconds': { type: 'string' },
        'allow-loopback-webhooks': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    // An unknown or malformed flag: what was wrong and the usage, no stack trace.
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
}

const { values } = parseFlags();

if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function port(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) {
    process.stderr.write(`--${name} must be a port number (0-65535), not '${raw}'.\n`);
    process.exit(2);
  }
  return n;
}

function external(raw: string) {
  const parts = Object.fromEntries(raw.split(',').map((p) => p.split('=') as [string, string]));
  if (!parts.dynamodb || !parts.sqs || !parts.kms) {
    process.stderr.write('--external needs dynamodb=URL,sqs=URL,kms=URL\n');
    process.exit(2);
  }
  return { kind: 'external' as const, dynamodb: parts.dynamodb, sqs: parts.sqs, kms: parts.kms };
}

const optionalInt = (raw: string | undefined) => (raw === undefined ? undefined : Number(raw));
const quiet = values['ready-json'];
const log = (line: string) => {
  if (!quiet) process.stdout.write(`${line}\n`);
};

async function main() {
  const gateway = await startGateway({
    port: port('port', values.port),
    ...(values['eu-port'] === undefined ? {} : { euPort: port('eu-port', values['eu-port']) }),
    dataDir: values['in-memory'] ? undefined : values['data-dir'],
    services: values.external
      ? external(values.external)
      : {
          kind: 'embedded',
          dynamodbPort: port('dynamodb-port', values['dynamodb-port']),
          sqsPort: port('sqs-port', values['sqs-port']),
          kmsPort: port('kms-port', values['kms-port']),
        },
    prefix: values.prefix,
    ...(values.assembly ? { assembly: values.assembly } : {}),
    // Each refused AWS call once: a function's role lacks a permission its code needs.
    onIamDenied: (() => {
      const seen = new Set<string>();
      return (d: { action: string; resource: string; roleName?: string }) => {
        const key = `${d.roleName} ${d.action} ${d.resource}`;
        if (seen.has(key)) return;
        seen.add(key);
        process.stderr.write(
          `IAM denied: ${d.roleName ?? 'unknown role'} may not ${d.action} on ${d.resource}\n`,
        );
      };
    })(),
    authorizerCacheSeconds: optionalInt(values['authorizer-cache-seconds']),
    allowLoopbackWebhooks: values['allow-loopback-webhooks'],
    dispatch: {
      visibilityTimeoutSeconds: optionalInt(values['visibility-timeout']),
      maxReceiveCount: optionalInt(values['max-receive-count']),
    },
    log,
  });

  const readyMs = Math.round(performance.now() - startedAt);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`\n${signal}: stopping the gateway and everything it started ...`);
    await gateway.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  if (quiet) {
    process.stdout.write(
      `${JSON.stringify({ ready: true, readyMs, url: gateway.url, euUrl: gateway.euUrl, regions: gateway.regions, adminToken: gateway.adminToken, queues: gateway.queues, tables: gateway.tables })}\n`,
    );
    return;
  }

  let demoKey: string | undefined;
  const tenants = await adminCall(gateway.url, gateway.adminToken, 'GET', '/admin/tenants');
  if (!values['no-demo'] && (tenants.data ?? []).length === 0) {
    const tenant = await adminCall(gateway.url, gateway.adminToken, 'POST', '/admin/tenants', {
      displayName: 'Demo',
      legalName: 'Demo Tenant Ltd',
      contactEmail: 'demo@example.com',
      homeJurisdiction: 'global',
    });
    const key = await adminCall(gateway.url, gateway.adminToken, 'POST', `/admin/tenants/${tenant.id}/keys`, {
      name: 'quick start',
      mode: 'test',
      scopes: ['send', 'read'],
    });
    demoKey = String(key.secret);
  }

  const keyLine = demoKey
    ? `A demo tenant was created with this test API key (shown once, only its HMAC is stored):\n\n  export SMS_API_KEY=${demoKey}\n`
    : `Use an API key you were given, or issue a test one (a live key sends only from approved sender IDs):\n\n  npm run admin -- tenants list\n  npm run admin -- keys create --tenant <tenant id> --name mine --mode test\n  export SMS_API_KEY=sk_test_...\n`;
  // An in-memory run saves no admin token: the only place to read it is here.
  const tokenLine = values['in-memory']
    ? `Admin token (in memory: not saved; the admin CLI reads SMS_ADMIN_TOKEN):\n\n  export SMS_ADMIN_TOKEN=${gateway.adminToken}\n\n`
    : '';
  log(`
SMS gateway running  (data: ${values['in-memory'] ? 'in memory' : values['data-dir']}; ready in ${(readyMs / 1000).toFixed(1)} s${gateway.iamEnforced ? '' : '; IAM NOT enforced'})
  global region (${gateway.regions.global}): ${gateway.url}
  EU region     (${gateway.regions.eu}): ${gateway.euUrl}   EU/EEA recipients' data is kept here

${tokenLine}${keyLine}
Send a first message (the sandbox carrier delivers it; nothing leaves this machine):

  curl -s ${gateway.url}/v1/messages -H "Authorization: Bearer $SMS_API_KEY" \\
    -H 'Content-Type: application/json' \\
    -d '{"to":"+12025550100","from":"Acme","body":"Hello from the gateway"}'

Then read its status (queued -> sent -> delivered):

  curl -s ${gateway.url}/v1/messages/<id> -H "Authorization: Bearer $SMS_API_KEY"

A message to an EU/EEA number (e.g. +4915123456789) goes to the EU endpoint, ${gateway.euUrl}
(the global one answers 421 naming it): it is stored, encrypted under the tenant's EU key, in the
EU region only; its response says "jurisdiction": "eu".

The sandbox handset +12025550107 answers {reply:TEXT}: send it "Hi {reply:STOP}" and the reply
shows in GET /v1/inbound, the confirmation in GET /v1/messages, and the number in GET /v1/opt-outs.

Admin CLI: npm run admin -- --help     API document: ${gateway.url}/openapi.json
Press Ctrl-C to stop.`);
}

main().catch((error: unknown) => {
  if (error instanceof PortInUseError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`The gateway could not start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
