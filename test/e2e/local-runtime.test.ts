import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { alive } from '../../infra/local/assembly.ts';
import { spawnGateway } from '../support/gateway-process.ts';
import { waitFor } from '../support/http.ts';

/** Every process below `pid`, with its command line. */
function descendants(pid: number): { pid: number; cmd: string }[] {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l)!)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), cmd: m[3]! }));
  const found: { pid: number; cmd: string }[] = [];
  const walk = (p: number) => {
    for (const r of rows.filter((row) => row.ppid === p)) {
      found.push(r);
      walk(r.pid);
    }
  };
  walk(pid);
  return found;
}

const embedded = ['--in-memory', '--port', '0', '--dynamodb-port', '0', '--sqs-port', '0', '--kms-port', '0'];

describe('the local runtime (npm start)', () => {
  it.each(['SIGINT', 'SIGKILL'] as const)(
    'leaves no java process behind after %s',
    async (signal) => {
      const gateway = await spawnGateway(embedded);
      const res = await fetch(`${gateway.url}/openapi.json`);
      expect(res.status).toBe(200);
      const java = descendants(gateway.child.pid!).find((p) => /^java /.test(p.cmd));
      expect(java, 'DynamoDB Local runs as a child').toBeDefined();
      const exited = new Promise((r) => gateway.child.once('exit', r));
      gateway.child.kill(signal);
      await exited;
      await waitFor(
        async () => (alive(java!.pid) ? undefined : true),
        `java (pid ${java!.pid}) to stop`,
        15_000,
      );
    },
    90_000,
  );
});
