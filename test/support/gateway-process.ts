import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  adminToken: string;
  tables: { messages: string; sandboxLedger: string };
}

/** The local gateway's flags for a free port each: its API and its own DynamoDB, SQS and KMS. */
export const ON_FREE_PORTS = ['--port', '0', '--dynamodb-port', '0', '--sqs-port', '0', '--kms-port', '0'];

/** Runs the local gateway (`npm start`'s entry) as its own process, so a test can kill it for real. */
export async function spawnGateway(args: string[]): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/local/main.ts', '--ready-json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${stderr}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}:\n${stderr}`)));
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      const ready = JSON.parse(line) as Omit<GatewayProcess, 'child'> & { ready: boolean };
      if (!ready.ready) return;
      clearTimeout(timer);
      resolve({ child, url: ready.url, adminToken: ready.adminToken, tables: ready.tables });
    });
  });
}
